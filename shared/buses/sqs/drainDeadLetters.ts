import { MeshError } from '../../core/errors.ts';
import type { DeadLetterQueue, ReceivedMessage } from './DeadLetterQueue.ts';
import { parseDeadLetter, type DeadLetter } from './deadLetter.ts';

/** A received message and what it holds: the failed event, or why it could not be read. */
export interface DeadLetterEntry {
  message: ReceivedMessage;
  letter?: DeadLetter;
  /** Set when the body is not a record we can read. */
  problem?: string;
}

export interface ReceiveAllOptions {
  /** Stop after this many messages. Default 1000. */
  limit?: number;
  /** How long the received messages stay hidden from other consumers. */
  visibilitySeconds: number;
}

/**
 * Receive every message of the queue (up to `limit`), hidden for `visibilitySeconds`, and
 * parse each. Nothing is deleted; the caller releases or deletes each one.
 */
export async function receiveAll(queue: DeadLetterQueue, { limit = 1000, visibilitySeconds }: ReceiveAllOptions): Promise<DeadLetterEntry[]> {
  const seen = new Map<string, DeadLetterEntry>();
  while (seen.size < limit) {
    const batch = await queue.receive(Math.min(10, limit - seen.size), visibilitySeconds);
    if (batch.length === 0) break;
    let fresh = 0;
    for (const message of batch) {
      const earlier = seen.get(message.messageId);
      // Received twice (its hold ran out): keep the newer receipt, the older one no longer works.
      if (earlier) {
        earlier.message = message;
        continue;
      }
      fresh++;
      seen.set(message.messageId, read(message));
    }
    if (fresh === 0) break;
  }
  return [...seen.values()];
}

/**
 * One page: up to `max` (≤ 10, what SQS returns per receive) messages, hidden for
 * `visibilitySeconds`, each parsed. [] when the queue gives nothing more.
 *
 * @example
 * for (let page = await receivePage(dlq, 10, 300); page.length > 0; page = await receivePage(dlq, 10, 300)) …
 */
export async function receivePage(queue: DeadLetterQueue, max: number, visibilitySeconds: number): Promise<DeadLetterEntry[]> {
  return (await queue.receive(Math.min(10, Math.max(1, max)), visibilitySeconds)).map(read);
}

function read(message: ReceivedMessage): DeadLetterEntry {
  try {
    return { message, letter: parseDeadLetter(message.body, { attributes: message.attributes, ...(message.sentAt ? { sentAt: message.sentAt } : {}) }) };
  } catch (err) {
    if (err instanceof MeshError) return { message, problem: err.message };
    throw err;
  }
}

/**
 * List a dead-letter queue without consuming it: receive everything with a short hold, then
 * make every message visible again at once.
 *
 * @example
 * const entries = await peekDeadLetters(new SqsDeadLetterQueue(url), { limit: 100 });
 */
export async function peekDeadLetters(queue: DeadLetterQueue, { limit, visibilitySeconds = 30 }: Partial<ReceiveAllOptions> = {}): Promise<DeadLetterEntry[]> {
  const entries = await receiveAll(queue, { visibilitySeconds, ...(limit === undefined ? {} : { limit }) });
  await releaseAll(queue, entries);
  return entries;
}

/** Make each entry's message visible again; a receipt that no longer works is ignored (its hold ran out). */
export async function releaseAll(queue: DeadLetterQueue, entries: DeadLetterEntry[]): Promise<void> {
  for (const e of entries) {
    try {
      await queue.release(e.message.receiptHandle);
    } catch {
      // The hold ended already: the message is visible again, which is what release wanted.
    }
  }
}

export interface DrainOptions {
  /** Seconds each message stays hidden while its replay runs (renewed per message). */
  holdSeconds: number;
  /**
   * Replay one entry. Resolve `true` when its event is settled (replayed, or already done):
   * the message is then deleted. `false` leaves it in the queue, visible again.
   */
  replay(entry: DeadLetterEntry): Promise<boolean>;
  /** Told when a message was deleted or released, or when that failed. */
  onSettled?(entry: DeadLetterEntry, action: 'deleted' | 'released' | 'delete-failed', error?: MeshError): void;
  /**
   * Asked before each entry: true ends the run there (an endpoint is down, or the engineer
   * pressed Ctrl-C). The entry in flight is settled first; the rest are released untouched.
   */
  stop?(): boolean;
}

/**
 * Replay received dead letters one by one: each message is deleted only after its replay
 * settled it, and released otherwise. If the process dies half way, the messages it held
 * become visible again when their hold ends, and a replay of an event already done is
 * recognised as such (results are idempotent), so nothing is lost or duplicated.
 */
export async function drainDeadLetters(queue: DeadLetterQueue, entries: DeadLetterEntry[], options: DrainOptions): Promise<void> {
  const pending = new Set(entries);
  try {
    for (const entry of entries) {
      if (options.stop?.()) break;
      // Renew the hold: a long replay run must not let the message reappear under it.
      await queue.hold(entry.message.receiptHandle, options.holdSeconds);
      const settled = await options.replay(entry);
      pending.delete(entry);
      if (settled) {
        try {
          await queue.delete(entry.message.receiptHandle);
          options.onSettled?.(entry, 'deleted');
        } catch (err) {
          if (!(err instanceof MeshError)) throw err;
          options.onSettled?.(entry, 'delete-failed', err);
        }
      } else {
        await releaseAll(queue, [entry]);
        options.onSettled?.(entry, 'released');
      }
    }
  } finally {
    await releaseAll(queue, [...pending]);
  }
}
