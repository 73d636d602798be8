import type { ReplayOutcome } from '../../../shared/core/index.ts';
import {
  awsTargetSettings,
  openReplayTarget,
  replayDeadLetters as runDeadLetterReplay,
  SettingMissingError,
  type CloudTarget,
  type DeadLetterReader,
  type LetterFacts,
  type ReplayTarget,
  type StackSettings,
  type WhereClause,
} from '../../../shared/oncall/index.ts';
import {
  receivePage,
  receiveServiceBusPage,
  serviceBusLetterKey,
  type DeadLetterEntry,
  type DeadLetterQueue,
  type ServiceBusDeadLetterEntry,
} from '../../../shared/buses/index.ts';
import { openAccess, openLedger } from '../access.ts';
import { table, type DeadLetterView } from '../format.ts';
import { UsageError, type CommonOptions } from '../options.ts';
import { intOption } from './events.ts';
import { deadLetterView, matchesFilters, openDeadLetterQueue, openServiceBusDeadLetters, routeFinder, serviceBusView } from '../../../shared/oncall/index.ts';
import { CONFIRM_ABOVE, confirm, currentUser, maxWaitOption, Progress, summarize, VERB, type PatchChoice } from './replayShared.ts';

/* Replays from the cloud sources: an SQS dead-letter queue (each message deleted only after its
 * replay succeeded), a Service Bus dead-letter subqueue (completed only after its replay
 * succeeded, abandoned otherwise) and an EventBridge archive (StartReplay, followed to the end). */

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
  /** `local`: run a cloud dead letter through the local mesh on purpose. Default: the cloud it came from. */
  target?: string | undefined;
  'rule-prefix'?: string | undefined;
  'max-wait'?: string | undefined;
  concurrency?: string | undefined;
  /** `--where`, parsed. */
  whereClauses?: WhereClause[] | undefined;
  /** `--stack`: the deployment's settings read from its outputs (they win over the environment). */
  stackSettings?: StackSettings | undefined;
  /** `--patch`, read: applied to the one dead letter replayed. */
  patchChoice?: PatchChoice | undefined;
}

/** How long a dead letter stays hidden while the run holds it; renewed before its replay when half gone. */
const HOLD_SECONDS = 300;

/** Service Bus dead letters locked at once: a part is replayed and settled before the next is received. */
const SERVICEBUS_PART = 100;

/** A reader that gives everything `read` returns as its first pages, then nothing (a browse, locking nothing). */
function browseOnce(queue: DeadLetterQueue, read: () => Promise<DeadLetterEntry[]>): DeadLetterReader {
  let all: DeadLetterEntry[] | undefined;
  return {
    queue,
    async receivePage(max) {
      all ??= await read();
      return all.splice(0, max);
    },
    key: (e) => serviceBusLetterKey(e as ServiceBusDeadLetterEntry),
    partSize: Number.POSITIVE_INFINITY,
  };
}

type QueueAction = 'deleted' | 'left in queue' | 'delete failed' | 'released (dry run)' | 'completed' | 'abandoned' | 'complete failed' | 'untouched (dry run)';

interface QueueOutcome extends ReplayOutcome {
  messageId: string;
  queue: QueueAction;
}

/** `--target`: where a cloud dead letter runs. Only `local` can be chosen; the default is its own cloud. */
function targetIsLocal(values: ReplayValues): boolean {
  if (values.target === undefined) return false;
  if (values.target === 'local') return true;
  throw new UsageError(`--target: expected local (run the dead letter through the local mesh instead of its cloud), got ${JSON.stringify(values.target)}`);
}

/** A setting that is missing is the caller's to fix: a usage error (exit 2) naming it. */
function usage<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof SettingMissingError) throw new UsageError(err.message);
    throw err;
  }
}

/** The deployment a dead letter came from, with the local ledger for the replay history. */
async function openCloudTarget(target: CloudTarget, opts: CommonOptions): Promise<ReplayTarget> {
  const ledger = await openLedger(opts);
  try {
    const opened = await openReplayTarget(target, { configFile: opts.config, routesDir: opts.routes, models: opts.models, ledger: ledger.failures });
    return { via: opened.via, replayEvent: (f, r) => opened.replayEvent(f, r), close: async () => { await opened.close(); await ledger.close(); } };
  } catch (err) {
    await ledger.close();
    if (err instanceof SettingMissingError) throw new UsageError(err.message);
    throw err;
  }
}

/** One dead-letter queue, opened for a replay run: how to read it and what its settling is called. */
interface OpenedQueue {
  queue: DeadLetterQueue;
  /** `sqs:<queue-url>` or `servicebus:<namespace>/<entity>`: what --source and `mesh failed show` take. */
  source: string;
  /** For messages: the queue URL, or `<namespace>/<entity>/$DeadLetterQueue`. */
  where: string;
  /** How the run reads it: pages of 10, held. */
  reader: DeadLetterReader;
  /** A dry run's read, where the source can browse without locking (Service Bus peek). */
  browse?: DeadLetterReader;
  view(entry: DeadLetterEntry): DeadLetterView;
  facts(entry: DeadLetterEntry, view: DeadLetterView): LetterFacts | undefined;
  words: { settled: QueueAction; kept: QueueAction; settleFailed: QueueAction; dryRun: QueueAction; settleVerb: string };
  close(): Promise<void>;
}

const SQS_WORDS = { settled: 'deleted', kept: 'left in queue', settleFailed: 'delete failed', dryRun: 'released (dry run)', settleVerb: 'delete' } as const;
const SERVICEBUS_WORDS = { settled: 'completed', kept: 'abandoned', settleFailed: 'complete failed', dryRun: 'untouched (dry run)', settleVerb: 'complete' } as const;

/**
 * Replay the dead letters of an SQS queue through the local pipeline. Each event becomes (or
 * reuses) its ledger record, keyed like the pipeline's, so the Replayer's guarantees hold and
 * its history is where `mesh failed show` looks; the message is deleted only once settled.
 */
export async function replayFromQueue(queueUrl: string, ids: string[], values: ReplayValues, opts: CommonOptions, rate: number | undefined): Promise<number> {
  const local = targetIsLocal(values);
  // Settings first: a missing one is a usage error before anything is read or held.
  const settings = local ? undefined : usage(() => awsTargetSettings(process.env, values.stackSettings ?? {}));
  return replayDeadLetters(
    () => (settings ? openCloudTarget({ cloud: 'aws', settings }, opts) : openAccess(opts, { needsPipeline: true })),
    async (finder) => {
      const queue = await openDeadLetterQueue(queueUrl);
      return {
        queue,
        source: `sqs:${queueUrl}`,
        where: queueUrl,
        // Every message is held while the run lasts (a visibility timeout, renewed before its
        // replay), so the count and an ETA are known before the first replay.
        reader: { queue, receivePage: (max) => receivePage(queue, max, HOLD_SECONDS), key: (e) => e.message.messageId, partSize: Number.POSITIVE_INFINITY },
        view: (e) => deadLetterView(queueUrl, e, finder.find),
        facts: (e) => e.letter,
        words: SQS_WORDS,
        close: async () => queue.close(),
      };
    },
    ids,
    values,
    opts,
    rate,
  );
}

/**
 * Replay the dead letters of a Service Bus entity's subqueue through the local pipeline, as
 * for SQS: each message is completed only once its replay succeeded (or its event was already
 * done), and abandoned otherwise, the new reason going to the ledger and the summary. Locks are
 * renewed by the SDK for 5 minutes after receipt; see ServiceBusDeadLetterQueue.
 */
export async function replayFromServiceBus(
  source: { namespace: string; entity: string; label: string },
  ids: string[],
  values: ReplayValues,
  opts: CommonOptions,
  rate: number | undefined,
): Promise<number> {
  const local = targetIsLocal(values);
  return replayDeadLetters(
    () => (local ? openAccess(opts, { needsPipeline: true }) : openCloudTarget({ cloud: 'azure', namespace: source.namespace }, opts)),
    async (finder) => {
      const queue = openServiceBusDeadLetters(source.namespace, source.entity, finder.sources);
      return {
        queue,
        source: source.label,
        where: `${source.namespace}/${source.entity}/$DeadLetterQueue`,
        // In parts: locks are renewed by the SDK for 5 minutes after receipt, so each part is
        // replayed and settled well within that before the next is received.
        reader: { queue, receivePage: (max) => receiveServiceBusPage(queue, max), key: (e) => serviceBusLetterKey(e as ServiceBusDeadLetterEntry), partSize: SERVICEBUS_PART },
        // A dry run only reads: peek locks nothing and leaves delivery counts alone.
        browse: browseOnce(queue, () => queue.peekEntries({ limit: values.limit ? intOption('--limit', values.limit) : 100_000 })),
        view: (e) => serviceBusView(source.label, e as ServiceBusDeadLetterEntry, finder.find),
        facts: (e, view) => {
          const envelope = (e as ServiceBusDeadLetterEntry).serviceBus.envelope;
          return envelope && { envelope, errorCode: view.errorCode, reason: view.message, ...(view.at ? { at: view.at } : {}) };
        },
        words: SERVICEBUS_WORDS,
        close: () => queue.closed(),
      };
    },
    ids,
    values,
    opts,
    rate,
  );
}

async function replayDeadLetters(
  openTarget: () => Promise<ReplayTarget>,
  open: (finder: Awaited<ReturnType<typeof routeFinder>>) => Promise<OpenedQueue>,
  ids: string[],
  values: ReplayValues,
  opts: CommonOptions,
  rate: number | undefined,
): Promise<number> {
  const dryRun = values['dry-run'];
  const wanted = new Set(ids.map((id) => (id.includes('#') ? id.slice(id.lastIndexOf('#') + 1) : id)));
  const limit = values.limit ? intOption('--limit', values.limit) : undefined;
  const concurrency = values.concurrency ? intOption('--concurrency', values.concurrency) : 1;
  if (!(concurrency >= 1)) throw new UsageError(`--concurrency: expected 1 or more, got ${JSON.stringify(values.concurrency)}`);
  const maxWaitMs = maxWaitOption(values['max-wait']);
  const request = {
    actor: values.actor ?? currentUser(),
    ...(dryRun ? { dryRun: true } : {}),
    ...(values.model ? { model: values.model } : {}),
    ...(values['route-override'] ? { routeOverride: values['route-override'] } : {}),
    ...(values.patchChoice ?? {}),
  };
  const finder = await routeFinder(opts);
  if (finder.problem) throw new UsageError(finder.problem.replace('; the route column is empty', ''));
  const access = await openTarget();
  let opened: OpenedQueue;
  try {
    opened = await open(finder);
  } catch (err) {
    await access.close();
    throw err;
  }
  const { words } = opened;
  const queueUrl = opened.where;
  // Ctrl-C: the replays in flight finish and settle, the rest go back to the queue; a second one quits.
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(130);
    process.stderr.write('\nInterrupted: finishing the replays in flight, then releasing the rest (Ctrl-C again to quit at once; held messages come back when their hold ends).\n');
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  const progress = new Progress(undefined);
  const views = new Map<string, DeadLetterView>();
  try {
    const run = await runDeadLetterReplay<DeadLetterView>({
      reader: dryRun && opened.browse ? opened.browse : opened.reader,
      target: access,
      view: (e) => {
        const v = opened.view(e);
        views.set(v.messageId, v);
        return v;
      },
      facts: (e, v) => opened.facts(e, v),
      select: (v) => (wanted.size > 0 ? wanted.has(v.messageId) : matchesFilters(v, values)),
      selectsAll: wanted.size === 0 && !filtersGiven(values),
      ...(limit === undefined ? {} : { limit }),
      ...(values.route === undefined ? {} : { route: values.route }),
      request,
      holdSeconds: HOLD_SECONDS,
      ...(rate ? { rate } : {}),
      concurrency,
      maxWaitMs,
      signal: interrupt.signal,
      ...(dryRun || values.yes
        ? {}
        : {
            confirm: async (count: number, more: boolean) => {
              if (count <= CONFIRM_ABOVE && !more) return true;
              return confirm(`Replay ${count}${more ? ' (the first part; more may follow)' : ''} dead letters from ${queueUrl}? [y/N] `);
            },
          }),
      onSelected: (count, final) => progress.expect(count, final),
      onOutcome: (o) => progress.update(o),
      onWait: (n) => progress.waiting(n),
      onKeptForOthers: (v, others) =>
        console.error(`Message ${v.messageId} stays in the queue after this replay: its event also goes to route${others.length === 1 ? '' : 's'} ${others.join(', ')}, not replayed (--route ${values.route}).`),
    });
    progress.done();
    if (run.declined) {
      console.error(`Not replayed. Run with --dry-run to see what would happen, or --yes to skip this question.`);
      return process.stdin.isTTY ? 1 : 2;
    }
    const found = new Set(run.selected.map((v) => v.messageId));
    const missing = [...wanted].filter((id) => !found.has(id));
    for (const id of missing) console.error(`No message ${id} in ${queueUrl} now (already replayed and removed, or held by another consumer).`);
    if (run.selected.length === 0) {
      console.log(`Nothing to replay: no dead letters match in ${queueUrl}.`);
      return missing.length > 0 ? 1 : 0;
    }
    const outcomes: QueueOutcome[] = run.outcomes.map((o) => ({
      ...o,
      queue: o.settling === 'settled' ? words.settled : o.settling === 'settle-failed' ? words.settleFailed : o.settling === 'dry-run' ? words.dryRun : words.kept,
      detail: o.settleError ? `${o.detail} (${words.settleVerb} failed: ${o.settleError})` : o.detail,
    }));
    const stopped = run.stopped;
    if (opts.json) console.log(JSON.stringify({ summary: summarize(outcomes), ...(stopped ? { stopped, untried: run.untried } : {}), outcomes }, null, 2));
    else printQueueSummary(outcomes, dryRun, opened, access.via);
    if (stopped && !opts.json) {
      console.log(
        stopped === 'interrupted'
          ? `\nInterrupted: ${run.untried} selected dead letters were not tried and are back in the queue; run the same command again to resume.`
          : `\nStopped early: ${stopped}. ${run.untried} more dead letters were not tried and stay in the queue untouched; replay them once the endpoint is back (or raise --max-wait).`,
      );
    }
    const bad = stopped !== undefined || outcomes.some((o) => o.outcome === 'failed-again' || o.outcome === 'not-replayed' || o.queue === words.settleFailed);
    return bad || missing.length > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    await opened.close();
    await access.close();
  }
}

function filtersGiven(values: ReplayValues): boolean {
  return values.route !== undefined || values.error !== undefined || values.since !== undefined || values.until !== undefined || (values.whereClauses?.length ?? 0) > 0;
}

function printQueueSummary(outcomes: QueueOutcome[], dryRun: boolean, { where: queueUrl, source, words }: OpenedQueue, via: string): void {
  console.log(
    table(
      ['message id', 'event id', 'route', 'outcome', 'message', 'detail'],
      outcomes.map((o) => [o.messageId, o.eventId ?? '', o.routeId ?? '', VERB[o.outcome], o.queue, o.detail]),
      70,
    ),
  );
  const c = summarize(outcomes);
  const deleted = new Set(outcomes.filter((o) => o.queue === words.settled).map((o) => o.messageId)).size;
  const messages = new Set(outcomes.map((o) => o.messageId)).size;
  if (dryRun) {
    console.log(`\nDry run of ${messages} dead letters from ${queueUrl}: ${c['would-replay']} would replay, ${c['would-skip']} would be skipped. Nothing was changed; every message is in the queue again.`);
    return;
  }
  console.log(
    `\nReplayed ${messages} dead letters from ${queueUrl}: ${c.succeeded} succeeded, ${c['failed-again']} failed again, ${c['already-done']} already done, ${c['not-replayed']} not replayed; ${deleted} ${words.settled} (removed from the queue), ${messages - deleted} left in it (via ${via}).`,
  );
  if (c['failed-again'] > 0 || c['not-replayed'] > 0) {
    // The table cuts long reasons; the on-call engineer needs them whole.
    console.log(`\nWhy (in full):`);
    for (const o of outcomes) if (o.outcome === 'failed-again' || o.outcome === 'not-replayed') console.log(`  ${o.messageId} (route ${o.routeId ?? '?'}): ${o.detail}`);
    console.log(`Those messages stay in the queue; their new reason is in the ledger: mesh failed show ${source}#<message-id>.`);
  }
}

/** `mesh replay --source archive:…`: StartReplay, then DescribeReplay to the end. */
export async function replayArchive(archive: string, values: ReplayValues & { 'dry-run': boolean }, opts: CommonOptions): Promise<number> {
  if (values.since === undefined || values.until === undefined) throw new UsageError('an archive replay needs its window: --since <time> --until <time>');
  for (const [name, v] of [['--since', values.since], ['--until', values.until]] as const) {
    if (Number.isNaN(Date.parse(v))) throw new UsageError(`${name}: expected an ISO 8601 time like 2026-11-22T03:00:00Z, got ${JSON.stringify(v)}`);
  }
  if (values.all || values.error || values.model || values['route-override'] || values.limit || values.target) {
    throw new UsageError('an archive replay takes a window (--since/--until), --destination, --rules or --route with --rule-prefix; the events are replayed in AWS, not through the local pipeline');
  }
  if (values.route !== undefined && values.rules !== undefined) throw new UsageError('give --route (with --rule-prefix) or --rules, not both');
  if (values.route !== undefined && !values['rule-prefix']) {
    throw new UsageError(`--route with an archive needs --rule-prefix <service>-<stage> (the deployment names each route's rule <service>-<stage>-<route id>, e.g. nearmesh-prod): the replay is sent to that rule only`);
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
    if (values.route !== undefined) {
      // Only the route's rule gets the replayed events: its target runs that route alone.
      input.Destination = { ...input.Destination, FilterArns: [ruleArn(input.Destination.Arn, `${values['rule-prefix']}-${values.route}`.slice(0, 64))] };
    }
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


/** `arn:…:event-bus/<bus>` → `arn:…:rule/<bus>/<rule>` (rules of the default bus have no bus segment). */
export function ruleArn(busArn: string, ruleName: string): string {
  const m = /^(arn:[^:]+:events:[^:]*:[^:]*:)event-bus\/(.+)$/.exec(busArn);
  if (!m) throw new UsageError(`cannot name the rule of route on bus ${busArn}: expected an event bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>)`);
  return m[2] === 'default' ? `${m[1]}rule/${ruleName}` : `${m[1]}rule/${m[2]}/${ruleName}`;
}
