import { failureId, type FailureRecord } from '../../../shared/core/index.ts';
import { listDeadLetters, listServiceBusDeadLetters, matchesFilters, routeFinder } from '../../../shared/oncall/index.ts';
import { openAccess } from '../access.ts';
import { deadLetterDetail, deadLetterRow, failureDetail, failureRowsTable, failuresTable, ledgerRow, printable, type DeadLetterView, type FailureRow } from '../format.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError, type CommonOptions } from '../options.ts';
import { intOption } from './events.ts';

export const FAILED_HELP = `mesh failed — list failed events with their reason

Usage: mesh failed [--source <source>]… [--route <id>] [--error <code>] [--status open|resolved|all] [--since <time>] [--until <time>] [--limit <n>] [--json]
       mesh failed show <failure-id> [--json]
       mesh failed show sqs:<queue-url>#<message-id> [--json]
       mesh failed show servicebus:<namespace>/<entity>#<message-id> [--json]

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
  servicebus:<namespace>/<entity>
                      a Service Bus dead-letter subqueue (<entity>/$DeadLetterQueue); the entity
                      is a queue (tickets) or a subscription (orders/Subscriptions/mesh).
                      Messages are received peek-lock and all abandoned at once: nothing is
                      completed by listing (each read counts one delivery). The error is the
                      DeadLetterReason, the reason its DeadLetterErrorDescription.
AWS sources use the AWS credential chain, AWS_REGION, and AWS_ENDPOINT_URL_SQS for a local endpoint.
Service Bus uses MESH_SERVICEBUS_<NAMESPACE>_CONNECTION (a connection string, e.g.
MESH_SERVICEBUS_ACME_SUPPORT_CONNECTION), else <namespace>.servicebus.windows.net with your Azure login.
${COMMON_HELP}`;

export type FailureSource =
  | { kind: 'local' }
  | { kind: 'sqs'; queueUrl: string; label: string }
  | { kind: 'servicebus'; namespace: string; entity: string; label: string }
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
    // The entity's own subqueue is implied: `tickets`, not `tickets/$DeadLetterQueue`.
    const m = /^servicebus:([^/\s]+)\/([^/\s$]+(?:\/subscriptions\/[^/\s$]+)?)$/i.exec(raw);
    if (!m) {
      throw new UsageError(
        `--source ${raw}: expected servicebus:<namespace>/<queue> or servicebus:<namespace>/<topic>/Subscriptions/<subscription>, e.g. servicebus:acme-support/tickets`,
      );
    }
    return { kind: 'servicebus', namespace: m[1]!, entity: m[2]!, label: `servicebus:${m[1]!}/${m[2]!}` };
  }
  if (raw.startsWith('archive:')) {
    if (!archive) throw new UsageError(`--source ${raw}: an EventBridge archive can be replayed (mesh replay --source ${raw} --since … --until …) but not listed event by event`);
    const name = raw.slice('archive:'.length);
    if (!name) throw new UsageError('--source archive:<archive-arn-or-name>: the archive is missing');
    return { kind: 'archive', archive: name, label: raw };
  }
  throw new UsageError(`--source: expected local, all, sqs:<queue-url>${archive ? ', archive:<archive>' : ''} or servicebus:<namespace>/<entity>, got ${JSON.stringify(raw)}`);
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
    if (!id) throw new UsageError('mesh failed show needs a failure id (the first column of `mesh failed`, sqs:<queue-url>#<message-id> or servicebus:<namespace>/<entity>#<message-id>)');
    return id.startsWith('sqs:') || id.startsWith('servicebus:') ? showDeadLetter(id, opts) : showLocal(id, opts);
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
  if (finder.problem) console.error(`mesh failed: ${printable(finder.problem)}`);
  for (const source of sources) {
    if (source.kind !== 'sqs' && source.kind !== 'servicebus') continue;
    const views =
      source.kind === 'sqs' ? await listDeadLetters(source.queueUrl, finder.find, limit) : await listServiceBusDeadLetters(source, finder, limit);
    const kept = views.filter((v) => matchesFilters(v, values));
    rows.push(...kept.map(deadLetterRow));
    json.push(...kept);
    notes.push(`${source.label}: ${kept.length} of ${views.length} messages (show one: mesh failed show ${source.label}#<failure id>)`);
  }
  if (opts.json) console.log(JSON.stringify(json, null, 2));
  else console.log(`${rows.length === 0 ? 'No failures.' : failureRowsTable(rows)}\n\n${notes.map(printable).join('\n')}`);
  return 0;
}

async function showLocal(id: string, opts: CommonOptions): Promise<number> {
  const access = await openAccess(opts);
  try {
    const record = await access.getFailure(id);
    if (!record) {
      console.error(`No failure with id ${printable(id)} (read from ${access.via}). List them with \`mesh failed --status all\`.`);
      return 1;
    }
    console.log(opts.json ? JSON.stringify(record, null, 2) : failureDetail(record));
    return 0;
  } finally {
    await access.close();
  }
}

/**
 * `sqs:<queue-url>#<message-id>` or `servicebus:<namespace>/<entity>#<message-id>`: neither has
 * a read by id, so the queue is read (and released) until it is found.
 */
async function showDeadLetter(id: string, opts: CommonOptions): Promise<number> {
  const hash = id.lastIndexOf('#');
  const kind = id.startsWith('sqs:') ? 'sqs' : 'servicebus';
  if (hash < 0) {
    throw new UsageError(
      kind === 'sqs'
        ? `${printable(id)}: expected sqs:<queue-url>#<message-id> (the failure id column of mesh failed --source sqs:<queue-url>)`
        : `${printable(id)}: expected servicebus:<namespace>/<entity>#<message-id> (the failure id column of mesh failed --source servicebus:…)`,
    );
  }
  const source = parseSource(id.slice(0, hash));
  const messageId = id.slice(hash + 1);
  const finder = await routeFinder(opts);
  const views =
    source.kind === 'sqs' ? await listDeadLetters(source.queueUrl, finder.find)
    : source.kind === 'servicebus' ? await listServiceBusDeadLetters(source, finder)
    : [];
  const where = source.kind === 'sqs' ? source.queueUrl : source.kind === 'servicebus' ? `${source.label.slice('servicebus:'.length)}/$DeadLetterQueue` : id;
  const view = views.find((v) => v.messageId === messageId);
  if (!view) {
    // Gone from the queue: its discard (or a replay by --target local) may be in the ledger under this id.
    const access = await openAccess(opts);
    try {
      const kept = await access.getFailure(id);
      if (kept) {
        console.log(opts.json ? JSON.stringify(kept, null, 2) : `${failureDetail(kept)}\n(the message is no longer in ${printable(where)}; this is the local ledger's record of it)`);
        return 0;
      }
    } finally {
      await access.close();
    }
    console.error(
      `No message ${printable(messageId)} in ${printable(where)} now (removed after a replay, or held by another consumer). List them with \`mesh failed --source ${printable(id.slice(0, hash))}\`.`,
    );
    return 1;
  }
  // The ledger keeps what was already tried from this queue (mesh replay --source …).
  const ledger = await ledgerRecordFor(view, opts);
  if (opts.json) console.log(JSON.stringify({ ...view, ...(ledger ? { ledger } : {}) }, null, 2));
  else {
    console.log(deadLetterDetail(view, ledger));
  }
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
