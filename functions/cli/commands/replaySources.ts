import { failureId, type FailureRecord, type ReplayOutcome } from '../../../shared/core/index.ts';
import { drainDeadLetters, receiveAll, releaseAll, type DeadLetter, type DeadLetterEntry } from '../../../shared/buses/index.ts';
import { openAccess } from '../access.ts';
import { table, type DeadLetterView } from '../format.ts';
import { UsageError, type CommonOptions } from '../options.ts';
import { intOption } from './events.ts';
import { deadLetterView, matchesFilters, openDeadLetterQueue, routeFinder } from './failed.ts';
import { CONFIRM_ABOVE, confirm, currentUser, Progress, summarize, VERB } from './replayShared.ts';

/* Replays from the AWS sources: an SQS dead-letter queue (each message deleted only after its
 * replay succeeded) and an EventBridge archive (StartReplay, followed to the end). */

export interface ReplayValues {
  all: boolean;
  route?: string | undefined;
  error?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit?: string | undefined;
  'dry-run': boolean;
  model?: string | undefined;
  'route-override'?: string | undefined;
  yes: boolean;
  actor?: string | undefined;
  destination?: string | undefined;
  rules?: string | undefined;
  poll?: string | undefined;
}

/** How long a dead letter stays hidden while its replay runs; renewed before each one. */
const HOLD_SECONDS = 300;

type QueueAction = 'deleted' | 'left in queue' | 'delete failed' | 'released (dry run)';

interface QueueOutcome extends ReplayOutcome {
  messageId: string;
  queue: QueueAction;
}

/**
 * Replay the dead letters of an SQS queue through the local pipeline. Each event becomes (or
 * reuses) its ledger record, keyed like the pipeline's, so the Replayer's guarantees hold and
 * its history is where `mesh failed show` looks; the message is deleted only once settled.
 */
export async function replayFromQueue(queueUrl: string, ids: string[], values: ReplayValues, opts: CommonOptions, rate: number | undefined): Promise<number> {
  const dryRun = values['dry-run'];
  const wanted = new Set(ids.map((id) => (id.includes('#') ? id.slice(id.lastIndexOf('#') + 1) : id)));
  const limit = values.limit ? intOption('--limit', values.limit) : undefined;
  const request = {
    actor: values.actor ?? currentUser(),
    ...(dryRun ? { dryRun: true } : {}),
    ...(values.model ? { model: values.model } : {}),
    ...(values['route-override'] ? { routeOverride: values['route-override'] } : {}),
  };
  const finder = await routeFinder(opts);
  if (finder.problem) throw new UsageError(finder.problem.replace('; the route column is empty', ''));
  const access = await openAccess(opts, { needsPipeline: true });
  const queue = await openDeadLetterQueue(queueUrl);
  let held: DeadLetterEntry[] = [];
  try {
    held = await receiveAll(queue, { visibilitySeconds: HOLD_SECONDS });
    const views = new Map(held.map((e) => [e, deadLetterView(queueUrl, e, finder.find)]));
    let selected = held.filter((e) => (wanted.size > 0 ? wanted.has(e.message.messageId) : matchesFilters(views.get(e)!, values)));
    if (limit !== undefined) selected = selected.slice(0, limit);
    // What is not replayed goes back to the queue at once, for other consumers and engineers.
    await releaseAll(queue, held.filter((e) => !selected.includes(e)));
    held = selected;
    const missing = [...wanted].filter((id) => !selected.some((e) => e.message.messageId === id));
    for (const id of missing) console.error(`No message ${id} in ${queueUrl} now (already replayed and deleted, or held by another consumer).`);
    if (selected.length === 0) {
      console.log(`Nothing to replay: no dead letters match in ${queueUrl}.`);
      return missing.length > 0 ? 1 : 0;
    }
    if (!dryRun && selected.length > CONFIRM_ABOVE && !values.yes && !(await confirm(`Replay ${selected.length} dead letters from ${queueUrl}? [y/N] `))) {
      console.error(`Not replayed. Run with --dry-run to see what would happen, or --yes to skip this question.`);
      return process.stdin.isTTY ? 1 : 2;
    }

    const progress = new Progress(selected.reduce((n, e) => n + Math.max(1, views.get(e)!.routeIds.length), 0));
    const outcomes: QueueOutcome[] = [];
    const byMessage = new Map<string, QueueOutcome[]>();
    const interval = rate ? 1000 / rate : 0;
    let next = Date.now();
    const replayEntry = async (entry: DeadLetterEntry): Promise<boolean> => {
      const view = views.get(entry)!;
      const mine: QueueOutcome[] = [];
      const add = (o: ReplayOutcome) => {
        const q: QueueOutcome = { ...o, messageId: view.messageId, queue: dryRun ? 'released (dry run)' : 'left in queue' };
        mine.push(q);
        outcomes.push(q);
        progress.update(q);
      };
      byMessage.set(view.messageId, mine);
      const base = { failureId: '-', ...(view.eventId ? { eventId: view.eventId } : {}) };
      if (!entry.letter) add({ ...base, outcome: dryRun ? 'would-skip' : 'not-replayed', detail: `unreadable: ${entry.problem ?? ''}` });
      else if (view.routeIds.length === 0) add({ ...base, outcome: dryRun ? 'would-skip' : 'not-replayed', detail: 'none of the loaded routes matches this event' });
      else {
        for (const routeId of view.routeIds) {
          if (interval > 0) {
            const wait = next - Date.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            next = Math.max(next, Date.now()) + interval;
          }
          add(await access.replayEvent(deadLetterFailure(view, entry.letter, routeId), request));
        }
      }
      return mine.every((o) => o.outcome === 'succeeded' || o.outcome === 'already-done');
    };

    if (dryRun) {
      for (const entry of selected) await replayEntry(entry);
    } else {
      await drainDeadLetters(queue, selected, {
        holdSeconds: HOLD_SECONDS,
        replay: replayEntry,
        onSettled: (entry, action, error) => {
          for (const o of byMessage.get(entry.message.messageId) ?? []) {
            o.queue = action === 'deleted' ? 'deleted' : action === 'released' ? 'left in queue' : 'delete failed';
            if (error) o.detail += ` (delete failed: ${error.message})`;
          }
        },
      });
      held = [];
    }
    progress.done();

    if (opts.json) console.log(JSON.stringify({ summary: summarize(outcomes), outcomes }, null, 2));
    else printQueueSummary(outcomes, dryRun, queueUrl, access.via);
    const bad = outcomes.some((o) => o.outcome === 'failed-again' || o.outcome === 'not-replayed' || o.queue === 'delete failed');
    return bad || missing.length > 0 ? 1 : 0;
  } finally {
    await releaseAll(queue, held);
    queue.close();
    await access.close();
  }
}

/** The ledger record of a dead letter on one route: keyed like the pipeline's, so both meet. */
function deadLetterFailure(view: DeadLetterView, letter: DeadLetter, routeId: string): FailureRecord {
  const eventId = letter.envelope.event.id;
  return {
    id: failureId(routeId, eventId),
    at: letter.at ?? new Date().toISOString(),
    eventId,
    routeId,
    errorCode: letter.errorCode,
    message: `${letter.reason} (dead letter ${view.messageId} in ${view.source})`,
    retryable: true,
    attempts: [],
    envelope: letter.envelope,
    status: 'open',
    failures: letter.attempts ?? 1,
  };
}

function printQueueSummary(outcomes: QueueOutcome[], dryRun: boolean, queueUrl: string, via: string): void {
  console.log(
    table(
      ['message id', 'event id', 'route', 'outcome', 'message', 'detail'],
      outcomes.map((o) => [o.messageId, o.eventId ?? '', o.routeId ?? '', VERB[o.outcome], o.queue, o.detail]),
      70,
    ),
  );
  const c = summarize(outcomes);
  const deleted = new Set(outcomes.filter((o) => o.queue === 'deleted').map((o) => o.messageId)).size;
  const messages = new Set(outcomes.map((o) => o.messageId)).size;
  if (dryRun) {
    console.log(`\nDry run of ${messages} dead letters from ${queueUrl}: ${c['would-replay']} would replay, ${c['would-skip']} would be skipped. Nothing was changed; every message is visible again.`);
    return;
  }
  console.log(
    `\nReplayed ${messages} dead letters from ${queueUrl}: ${c.succeeded} succeeded, ${c['failed-again']} failed again, ${c['already-done']} already done, ${c['not-replayed']} not replayed; ${deleted} deleted from the queue, ${messages - deleted} left in it (via ${via}).`,
  );
  if (c['failed-again'] > 0) console.log(`Failed-again events stay in the queue; their new reason is in the ledger: mesh failed show sqs:${queueUrl}#<message-id>.`);
}

/** `mesh replay --source archive:…`: StartReplay, then DescribeReplay to the end. */
export async function replayArchive(archive: string, values: ReplayValues & { 'dry-run': boolean }, opts: CommonOptions): Promise<number> {
  if (values.since === undefined || values.until === undefined) throw new UsageError('an archive replay needs its window: --since <time> --until <time>');
  for (const [name, v] of [['--since', values.since], ['--until', values.until]] as const) {
    if (Number.isNaN(Date.parse(v))) throw new UsageError(`${name}: expected an ISO 8601 time like 2026-11-22T03:00:00Z, got ${JSON.stringify(v)}`);
  }
  if (values.all || values.route || values.error || values.model || values['route-override'] || values.limit) {
    throw new UsageError('an archive replay takes a window (--since/--until), --destination and --rules; the events are replayed in AWS, not through the local pipeline');
  }
  const poll = values.poll === undefined ? 5 : Number(values.poll);
  if (!(poll > 0)) throw new UsageError(`--poll: expected seconds above 0, got ${JSON.stringify(values.poll)}`);
  const rules = values.rules?.split(',').map((r) => r.trim()).filter(Boolean);
  const { ArchiveReplays, arnRegion } = await import('../../../shared/buses/eventbridge/archiveReplay.ts');
  const region = arnRegion(archive) ?? (values.destination ? arnRegion(values.destination) : undefined);
  const replays = new ArchiveReplays(region ? { region } : {});
  try {
    const input = await replays.plan({
      archive,
      since: new Date(values.since),
      until: new Date(values.until),
      actor: values.actor ?? currentUser(),
      ...(values.destination ? { destination: values.destination } : {}),
      ...(rules && rules.length > 0 ? { rules } : {}),
    });
    const printable = { ...input, EventStartTime: input.EventStartTime.toISOString(), EventEndTime: input.EventEndTime.toISOString() };
    if (values['dry-run']) {
      console.log(opts.json ? JSON.stringify({ dryRun: true, startReplay: printable }, null, 2) : `Would send StartReplay:\n${JSON.stringify(printable, null, 2)}\nNothing was started (dry run).`);
      return 0;
    }
    const started = await replays.start(input);
    console.error(`Started replay ${started.name}${started.arn ? ` (${started.arn})` : ''} of ${input.EventSourceArn} to ${input.Destination.Arn}.`);
    let last = '';
    const final = await replays.follow(input.ReplayName, {
      intervalMs: poll * 1000,
      onProgress: (s) => {
        const line = `${s.state}${s.lastReplayed ? `, replayed up to ${s.lastReplayed}` : ''}`;
        if (line !== last) process.stderr.write(`  ${line}\n`);
        last = line;
      },
    });
    const ok = final.state === 'COMPLETED';
    if (opts.json) console.log(JSON.stringify({ startReplay: printable, final }, null, 2));
    else {
      console.log(`Replay ${final.name} ${final.state}${final.reason ? `: ${final.reason}` : ''}.`);
      console.log(
        ok
          ? `Events from ${printable.EventStartTime} to ${printable.EventEndTime} were re-delivered to ${input.Destination.Arn}${rules?.length ? ` (rules ${rules.join(', ')})` : ''}.`
          : `Check it with: aws events describe-replay --replay-name ${final.name}`,
      );
    }
    return ok ? 0 : 1;
  } finally {
    replays.close();
  }
}

