import { failureId, toEventBridgeEvent, type Envelope, type FailureRecord } from '../../../shared/core/index.ts';
import { functionName, peekDeadLetters, type DeadLetterEntry, type DeadLetterQueue } from '../../../shared/buses/index.ts';
import { loadMesh } from '../../../shared/config/index.ts';
import { compilePatterns } from '../../../shared/rules/index.ts';
import { openAccess } from '../access.ts';
import { deadLetterDetail, deadLetterRow, failureDetail, failureRowsTable, failuresTable, ledgerRow, type DeadLetterView, type FailureRow } from '../format.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError, type CommonOptions } from '../options.ts';
import { intOption } from './events.ts';

export const FAILED_HELP = `mesh failed — list failed events with their reason

Usage: mesh failed [--source <source>]… [--route <id>] [--error <code>] [--status open|resolved|all] [--since <time>] [--until <time>] [--limit <n>] [--json]
       mesh failed show <failure-id> [--json]
       mesh failed show sqs:<queue-url>#<message-id> [--json]

Lists open failures by default, newest first. Times are ISO 8601 (2026-11-22T03:00:00Z).

Sources (--source, repeatable):
  local               the local failure ledger (the default)
  sqs:<queue-url>     an SQS dead-letter queue fed by Lambda's on-failure destination (or holding
                      raw EventBridge events). Messages are received with a 30 s hold and made
                      visible again at once; nothing is deleted. Their route is the loaded
                      routes that match the event. Receiving counts against a DLQ's own
                      maxReceiveCount, if it has a redrive policy.
  all                 the local ledger plus every other --source given (all alone = local only;
                      sources are not read from mesh.yaml yet)
  servicebus:<entity> not available yet: needs the Azure edge
AWS sources use the AWS credential chain, AWS_REGION, and AWS_ENDPOINT_URL_SQS for a local endpoint.
${COMMON_HELP}`;

export type FailureSource =
  | { kind: 'local' }
  | { kind: 'sqs'; queueUrl: string; label: string }
  | { kind: 'archive'; archive: string; label: string };

/** Parse one `--source`; `archive:` only where the command can replay an archive. */
export function parseSource(raw: string, { archive = false }: { archive?: boolean } = {}): FailureSource {
  if (raw === 'local') return { kind: 'local' };
  if (raw.startsWith('sqs:')) {
    const queueUrl = raw.slice('sqs:'.length);
    if (!/^https?:\/\//.test(queueUrl)) throw new UsageError(`--source ${raw}: expected sqs:<queue-url>, e.g. sqs:https://sqs.us-east-1.amazonaws.com/123456789012/on-event-dlq`);
    return { kind: 'sqs', queueUrl, label: `sqs:${queueUrl}` };
  }
  if (raw.startsWith('servicebus:')) {
    throw new UsageError(
      `--source ${raw}: not available yet: Service Bus dead-letter subqueues need the Azure edge (see the issue on Service Bus); use local, sqs:<queue-url> or archive:<archive>`,
    );
  }
  if (raw.startsWith('archive:')) {
    if (!archive) throw new UsageError(`--source ${raw}: an EventBridge archive can be replayed (mesh replay --source ${raw} --since … --until …) but not listed event by event`);
    const name = raw.slice('archive:'.length);
    if (!name) throw new UsageError('--source archive:<archive-arn-or-name>: the archive is missing');
    return { kind: 'archive', archive: name, label: raw };
  }
  throw new UsageError(`--source: expected local, all, sqs:<queue-url>${archive ? ', archive:<archive>' : ''} or servicebus:<entity>, got ${JSON.stringify(raw)}`);
}

/** The SQS adapter loads on first use, so commands that never read a queue do not load the SDK. */
export async function openDeadLetterQueue(queueUrl: string): Promise<DeadLetterQueue> {
  const { SqsDeadLetterQueue } = await import('../../../shared/buses/sqs/index.ts');
  return new SqsDeadLetterQueue(queueUrl);
}

/**
 * The ids of the loaded routes that match an event, for dead letters whose record does not
 * name its route. When the routes cannot be loaded, listing still works: the route is unknown.
 */
export async function routeFinder(opts: CommonOptions): Promise<{ find: (e: Envelope) => string[]; problem?: string }> {
  try {
    const { routes } = await loadMesh({ configFile: opts.config, routesDir: opts.routes });
    const matcher = compilePatterns(Object.fromEntries(routes.map((r) => [r.id, r.match])));
    return { find: (e) => matcher.matches(toEventBridgeEvent(e)) };
  } catch (err) {
    return { find: () => [], problem: `routes not loaded (${(err as Error).message.split('\n')[0]}); the route column is empty` };
  }
}

export function deadLetterView(queueUrl: string, entry: DeadLetterEntry, findRoutes: (e: Envelope) => string[]): DeadLetterView {
  const { message, letter } = entry;
  const base = {
    source: `sqs:${queueUrl}`,
    id: `sqs:${queueUrl}#${message.messageId}`,
    messageId: message.messageId,
    ...(message.receiveCount === undefined ? {} : { receiveCount: message.receiveCount }),
    ...(message.sentAt === undefined ? {} : { sentAt: message.sentAt }),
  };
  if (!letter) return { ...base, routeIds: [], errorCode: 'Unreadable', message: entry.problem ?? 'unreadable message', ...(message.sentAt ? { at: message.sentAt } : {}) };
  return {
    ...base,
    kind: letter.kind,
    ...(letter.at === undefined ? {} : { at: letter.at }),
    eventId: letter.envelope.event.id,
    routeIds: letter.routeId ? [letter.routeId] : findRoutes(letter.envelope),
    errorCode: letter.errorCode,
    message: letter.reason,
    ...(letter.attempts === undefined ? {} : { attempts: letter.attempts }),
    ...(letter.functionArn ? { endpoint: functionName(letter.functionArn), functionArn: letter.functionArn } : {}),
    ...(letter.requestId ? { requestId: letter.requestId } : {}),
    ...(letter.condition ? { condition: letter.condition } : {}),
    ...(letter.stackTrace ? { stackTrace: letter.stackTrace } : {}),
    event: toEventBridgeEvent(letter.envelope),
  };
}

interface Filters {
  route?: string | undefined;
  error?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/** The filters of `mesh failed`/`mesh replay`, applied to dead letters (the ledger applies them itself). */
export function matchesFilters(v: DeadLetterView, f: Filters): boolean {
  const at = Date.parse(v.at ?? v.sentAt ?? '');
  if (f.route !== undefined && !v.routeIds.includes(f.route)) return false;
  if (f.error !== undefined && v.errorCode !== f.error) return false;
  if (f.since !== undefined && !(at >= Date.parse(f.since))) return false;
  if (f.until !== undefined && !(at <= Date.parse(f.until))) return false;
  return true;
}

export async function failedCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    source: { type: 'string', multiple: true },
    route: { type: 'string' },
    error: { type: 'string' },
    status: { type: 'string', default: 'open' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
  });
  if (values.help) return (console.log(FAILED_HELP), 0);
  const opts = commonOptions(values);
  const status = values.status;
  if (status !== 'open' && status !== 'resolved' && status !== 'all') {
    throw new UsageError(`--status: expected open, resolved or all, got ${JSON.stringify(status)}`);
  }
  for (const [name, v] of [['--since', values.since], ['--until', values.until]] as const) {
    if (v !== undefined && Number.isNaN(Date.parse(v))) throw new UsageError(`${name}: expected an ISO 8601 time like 2026-11-22T03:00:00Z, got ${JSON.stringify(v)}`);
  }
  const limit = values.limit ? intOption('--limit', values.limit) : undefined;
  const raw = values.source ?? ['local'];
  const sources = raw.filter((s) => s !== 'all').map((s) => parseSource(s));
  if (raw.includes('all') && !sources.some((s) => s.kind === 'local')) sources.unshift({ kind: 'local' });

  if (positionals[0] === 'show') {
    const id = positionals[1];
    if (!id) throw new UsageError('mesh failed show needs a failure id (the first column of `mesh failed`, or sqs:<queue-url>#<message-id>)');
    return id.startsWith('sqs:') ? showDeadLetter(id, opts) : showLocal(id, opts);
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}; did you mean \`mesh failed show <id>\`?`);

  // The default, local only, keeps its own table and JSON (scripts read them).
  const onlyLocal = sources.every((s) => s.kind === 'local');
  const rows: FailureRow[] = [];
  const json: unknown[] = [];
  const notes: string[] = [];
  if (sources.some((s) => s.kind === 'local')) {
    const access = await openAccess(opts);
    try {
      const records = await access.listFailures({
        ...(values.route ? { routeId: values.route } : {}),
        ...(values.error ? { errorCode: values.error } : {}),
        ...(status !== 'all' ? { status } : {}),
        ...(values.since ? { since: new Date(values.since).toISOString() } : {}),
        ...(values.until ? { until: new Date(values.until).toISOString() } : {}),
        ...(limit === undefined ? {} : { limit }),
      });
      if (onlyLocal) {
        if (opts.json) console.log(JSON.stringify(records, null, 2));
        else console.log(records.length === 0 ? `No ${status === 'all' ? '' : status + ' '}failures (read from ${access.via}).` : failuresTable(records));
        return 0;
      }
      rows.push(...records.map(ledgerRow));
      json.push(...records.map((r) => ({ source: 'local', ...r })));
      notes.push(`local: ${records.length} (read from ${access.via})`);
    } finally {
      await access.close();
    }
  }
  const finder = await routeFinder(opts);
  if (finder.problem) console.error(`mesh failed: ${finder.problem}`);
  for (const source of sources) {
    if (source.kind !== 'sqs') continue;
    const views = await listDeadLetters(source.queueUrl, finder.find, limit);
    const kept = views.filter((v) => matchesFilters(v, values));
    rows.push(...kept.map(deadLetterRow));
    json.push(...kept);
    notes.push(`${source.label}: ${kept.length} of ${views.length} messages (show one: mesh failed show ${source.label}#<failure id>)`);
  }
  if (opts.json) console.log(JSON.stringify(json, null, 2));
  else console.log(`${rows.length === 0 ? 'No failures.' : failureRowsTable(rows)}\n\n${notes.join('\n')}`);
  return 0;
}

export async function listDeadLetters(queueUrl: string, findRoutes: (e: Envelope) => string[], limit?: number): Promise<DeadLetterView[]> {
  const queue = await openDeadLetterQueue(queueUrl);
  try {
    const entries = await peekDeadLetters(queue, limit === undefined ? {} : { limit });
    return entries.map((e) => deadLetterView(queueUrl, e, findRoutes));
  } finally {
    queue.close();
  }
}

async function showLocal(id: string, opts: CommonOptions): Promise<number> {
  const access = await openAccess(opts);
  try {
    const record = await access.getFailure(id);
    if (!record) {
      console.error(`No failure with id ${id} (read from ${access.via}). List them with \`mesh failed --status all\`.`);
      return 1;
    }
    console.log(opts.json ? JSON.stringify(record, null, 2) : failureDetail(record));
    return 0;
  } finally {
    await access.close();
  }
}

/** `sqs:<queue-url>#<message-id>`: SQS has no read by id, so the queue is read (and released) until it is found. */
async function showDeadLetter(id: string, opts: CommonOptions): Promise<number> {
  const hash = id.lastIndexOf('#');
  if (hash < 0) throw new UsageError(`${id}: expected sqs:<queue-url>#<message-id> (the failure id column of mesh failed --source sqs:<queue-url>)`);
  const queueUrl = id.slice('sqs:'.length, hash);
  const messageId = id.slice(hash + 1);
  const finder = await routeFinder(opts);
  const view = (await listDeadLetters(queueUrl, finder.find)).find((v) => v.messageId === messageId);
  if (!view) {
    console.error(`No message ${messageId} in ${queueUrl} now (deleted after a replay, or held by another consumer). List them with \`mesh failed --source sqs:${queueUrl}\`.`);
    return 1;
  }
  // The ledger keeps what was already tried from this queue (mesh replay --source sqs:…).
  const ledger = await ledgerRecordFor(view, opts);
  console.log(opts.json ? JSON.stringify({ ...view, ...(ledger ? { ledger } : {}) }, null, 2) : deadLetterDetail(view, ledger));
  return 0;
}

async function ledgerRecordFor(view: DeadLetterView, opts: CommonOptions): Promise<FailureRecord | undefined> {
  if (!view.eventId || view.routeIds.length === 0) return undefined;
  const access = await openAccess(opts);
  try {
    for (const routeId of view.routeIds) {
      const record = await access.getFailure(failureId(routeId, view.eventId));
      if (record) return record;
    }
    return undefined;
  } finally {
    await access.close();
  }
}
