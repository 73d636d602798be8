import type { ReplayOutcome } from '../core/index.ts';
import type { DeadLetterEntry, DeadLetterQueue } from '../buses/index.ts';
import type { ReplayRequest } from '../runtime/index.ts';
import { CircuitWait, type CircuitWaitNotice } from './circuitWait.ts';
import { deadLetterFailure, type LetterFacts } from './deadLetterFailure.ts';
import type { ReplayTarget } from './ReplayTarget.ts';

/** What the run needs to know of a dead letter (the CLI's view carries more, for rendering). */
export interface LetterView {
  /** `sqs:<queue-url>` or `servicebus:<namespace>/<entity>`. */
  source: string;
  messageId: string;
  eventId?: string;
  /** The routes its event goes to (the record's route, else the loaded routes that match). */
  routeIds: string[];
}

/** How a queue is read in pages, and how much of it is held at once. */
export interface DeadLetterReader {
  queue: DeadLetterQueue;
  /** Up to `max` (≤ 10) more messages, held; [] when the queue has nothing more to give. */
  receivePage(max: number): Promise<DeadLetterEntry[]>;
  /** What identifies a message across receipts: its id (SQS), its sequence number (Service Bus). */
  key(entry: DeadLetterEntry): string;
  /**
   * How many messages to hold at once. SQS: all of them (a hold is a visibility timeout, renewed
   * before each replay), so the count and an ETA are known before the first replay. Service
   * Bus: parts (locks are renewed by the SDK for 5 minutes after receipt), each replayed and
   * settled before the next is received.
   */
  partSize: number;
}

/** How one message's replay ended for the queue. */
export type Settling = 'settled' | 'kept' | 'settle-failed' | 'dry-run';

export interface LetterOutcome extends ReplayOutcome {
  messageId: string;
  settling: Settling;
  /** Set when settling failed: why (the message is in the queue again). */
  settleError?: string;
}

export interface ReplayDeadLettersOptions<V extends LetterView> {
  reader: DeadLetterReader;
  target: ReplayTarget;
  view(entry: DeadLetterEntry): V;
  /** The event and failure facts of a readable message; undefined when it cannot be read. */
  facts(entry: DeadLetterEntry, view: V): LetterFacts | undefined;
  /** Which messages this run replays (ids or filters). */
  select(view: V): boolean;
  /** True when `select` takes every message: then no more than `limit` are received. */
  selectsAll?: boolean;
  limit?: number;
  /** `--route`: run this route only; a message whose event also goes to other routes stays for them. */
  route?: string;
  request: Omit<ReplayRequest, 'failureId'>;
  /** Seconds a message stays hidden while the run holds it (SQS); renewed before its replay when half gone. */
  holdSeconds: number;
  /** At most this many replays per second. */
  rate?: number;
  /** Replays in flight at once. Default 1 (in queue order). */
  concurrency?: number;
  /** See CircuitWait. */
  maxWaitMs: number;
  /** Interrupt (Ctrl-C): the replays in flight finish and settle; the rest are released untouched. */
  signal?: AbortSignal;
  /** Asked once before the first replay: how many are selected so far, and whether more parts may follow. */
  confirm?(count: number, more: boolean): Promise<boolean>;
  /** Told how many are selected so far and whether that is all (an ETA needs the total). */
  onSelected?(count: number, final: boolean): void;
  onOutcome?(outcome: LetterOutcome): void;
  onWait?(notice: CircuitWaitNotice): void;
  /** A message that stays because its event goes to other routes too (--route). */
  onKeptForOthers?(view: V, others: string[]): void;
  now?: () => number;
}

export interface ReplayDeadLettersResult<V extends LetterView> {
  outcomes: LetterOutcome[];
  /** Every view selected, in queue order (a dry run's count). */
  selected: V[];
  /** Why the run stopped early: an endpoint down, or `interrupted`. */
  stopped?: string;
  /** Selected messages never tried (after a stop); they stay in the queue untouched. */
  untried: number;
  /** The engineer said no at the confirmation: nothing ran. */
  declined?: boolean;
}

/**
 * Replay the dead letters of a queue, at scale and safely: the queue is read in pages of 10
 * (held, never deleted unread), the selected messages replayed on their deployment (`target`)
 * with `rate`, `concurrency` and open circuits waited out (CircuitWait); a message is deleted
 * (completed) only once its replay settled it, and everything else — not selected, failed again,
 * not tried after a stop or Ctrl-C — is released at the end, visible again at once. Run it
 * again to resume: deleted ones are gone, and an event already done is recognised as such.
 *
 * @example
 * const run = await replayDeadLetters({ reader, target, view, facts, select: () => true, selectsAll: true, request: { actor: 'ana' }, holdSeconds: 300, maxWaitMs: 60_000 });
 * run.outcomes.filter((o) => o.settling === 'settled').length // messages removed from the queue
 */
export async function replayDeadLetters<V extends LetterView>(options: ReplayDeadLettersOptions<V>): Promise<ReplayDeadLettersResult<V>> {
  const { reader, target, request, signal } = options;
  const { queue } = reader;
  const dryRun = request.dryRun === true;
  const now = options.now ?? Date.now;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const interval = options.rate ? 1000 / options.rate : 0;
  /** Received and not deleted: released when the run ends. Keyed like reader.key. */
  const held = new Map<string, { entry: DeadLetterEntry; receivedAt: number }>();
  const seen = new Set<string>();
  const outcomes: LetterOutcome[] = [];
  const selected: V[] = [];
  const gate = new CircuitWait({ maxWaitMs: options.maxWaitMs, now, ...(options.onWait ? { onWait: options.onWait } : {}), ...(signal ? { signal } : {}) });
  let stopped: string | undefined;
  let untried = 0;
  let nextSlot = now();
  let exhausted = false;
  const stopNow = () => {
    if (signal?.aborted) stopped ??= 'interrupted';
    return stopped !== undefined;
  };

  /** Up to `size` messages not seen before in this run, received in pages of 10. */
  const readPart = async (size: number): Promise<DeadLetterEntry[]> => {
    const part: DeadLetterEntry[] = [];
    while (part.length < size && !stopNow()) {
      const page = await reader.receivePage(Math.min(10, size - part.length));
      if (page.length === 0) {
        exhausted = true;
        break;
      }
      let fresh = 0;
      for (const entry of page) {
        const key = reader.key(entry);
        // Received again (its hold ran out): only the newest receipt settles or releases it.
        held.set(key, { entry, receivedAt: now() });
        if (seen.has(key)) continue;
        seen.add(key);
        fresh++;
        part.push(entry);
      }
      if (fresh === 0) {
        exhausted = true;
        break;
      }
    }
    return part;
  };

  const replayOne = async (entry: DeadLetterEntry, view: V): Promise<void> => {
    const key = reader.key(entry);
    const mine: LetterOutcome[] = [];
    const add = (o: ReplayOutcome) => mine.push({ ...o, messageId: view.messageId, settling: dryRun ? 'dry-run' : 'kept' });
    const base = { failureId: '-', ...(view.eventId ? { eventId: view.eventId } : {}) };
    const facts = options.facts(entry, view);
    let keepForOthers = false;
    if (!facts) add({ ...base, outcome: dryRun ? 'would-skip' : 'not-replayed', detail: `unreadable: ${entry.problem ?? ''}` });
    else if (view.routeIds.length === 0) add({ ...base, outcome: dryRun ? 'would-skip' : 'not-replayed', detail: 'none of the loaded routes matches this event' });
    else {
      const routes = options.route === undefined ? view.routeIds : view.routeIds.filter((r) => r === options.route);
      const others = view.routeIds.filter((r) => !routes.includes(r));
      if (others.length > 0) {
        keepForOthers = true;
        options.onKeptForOthers?.(view, others);
      }
      // A long run must not let the message reappear under its replay: renew a hold half gone.
      const at = held.get(key);
      if (!dryRun && at && now() - at.receivedAt > (options.holdSeconds * 1000) / 2) {
        await queue.hold(at.entry.message.receiptHandle, options.holdSeconds);
        at.receivedAt = now();
      }
      for (const routeId of routes) {
        if (stopNow()) break;
        if (interval > 0) {
          const slot = nextSlot;
          nextSlot = Math.max(slot, now()) + interval;
          const wait = slot - now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        const gated = await gate.run(() => target.replayEvent(deadLetterFailure({ source: view.source, messageId: view.messageId }, facts, routeId), request));
        add(gated.outcome);
        if (gated.stop) stopped ??= gated.stop;
      }
    }
    const settled = !dryRun && !keepForOthers && mine.length > 0 && mine.every((o) => o.outcome === 'succeeded' || o.outcome === 'already-done');
    if (settled) {
      const receipt = held.get(key)?.entry.message.receiptHandle ?? entry.message.receiptHandle;
      try {
        await queue.delete(receipt);
        held.delete(key);
        for (const o of mine) o.settling = 'settled';
      } catch (err) {
        for (const o of mine) {
          o.settling = 'settle-failed';
          o.settleError = err instanceof Error ? err.message : String(err);
        }
      }
    }
    for (const o of mine) {
      outcomes.push(o);
      options.onOutcome?.(o);
    }
  };

  let declined = false;
  let asked = options.confirm === undefined;
  try {
    while (!stopNow() && selected.length < limit && !exhausted) {
      const want = options.selectsAll ? Math.min(reader.partSize, limit - selected.length) : reader.partSize;
      const part = await readPart(want);
      const chosen: Array<{ entry: DeadLetterEntry; view: V }> = [];
      for (const entry of part) {
        if (selected.length >= limit) break;
        const view = options.view(entry);
        if (!options.select(view)) continue;
        selected.push(view);
        chosen.push({ entry, view });
      }
      const final = exhausted || selected.length >= limit;
      options.onSelected?.(selected.length, final);
      if (chosen.length === 0) continue;
      if (!asked) {
        asked = true;
        if (!(await options.confirm!(chosen.length, !final))) {
          declined = true;
          break;
        }
      }
      // A small pool: `concurrency` replays in flight; a stop lets them finish and tries no more.
      let next = 0;
      const worker = async () => {
        while (next < chosen.length) {
          const { entry, view } = chosen[next++]!;
          if (stopNow()) {
            untried++;
            continue;
          }
          await replayOne(entry, view);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, chosen.length) }, worker));
    }
  } finally {
    // Everything still held goes back at once: not selected, failed again, kept, not tried.
    const rest = [...held.values()];
    for (let i = 0; i < rest.length; i += 10) {
      await Promise.all(
        rest.slice(i, i + 10).map(({ entry }) =>
          // A hold that ended already: the message is visible again, which is what release wanted.
          queue.release(entry.message.receiptHandle).catch(() => undefined),
        ),
      );
    }
  }
  return { outcomes, selected, untried, ...(stopped ? { stopped } : {}), ...(declined ? { declined } : {}) };
}
