import {
  receiveAll,
  receiveServiceBusDeadLetters,
  releaseAll,
  type DeadLetterEntry,
  type DeadLetterQueue,
  type ServiceBusDeadLetterEntry,
} from '../../../shared/buses/index.ts';
import { discardFailure, recordDiscardedLetter } from '../../../shared/oncall/index.ts';
import { openAccess, openLedger } from '../access.ts';
import { printable, table, type DeadLetterView } from '../format.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError } from '../options.ts';
import { intOption } from './events.ts';
import { deadLetterView, matchesFilters, openDeadLetterQueue, openServiceBusDeadLetters, routeFinder, serviceBusView } from '../../../shared/oncall/index.ts';
import { parseSource } from './failed.ts';
import { currentUser } from './replayShared.ts';

export const DISCARD_HELP = `mesh discard — remove failed events that must never run, saying why

Usage: mesh discard <failure-id>… --reason "<why>" [--source <source>] [options]
       mesh discard (--all | --route <id> | --error <code> | --since <time> | --until <time>) --reason "<why>" [--source <source>] [options]

--reason is required: it is kept with who discarded (the OS user or --actor) and when.
  local (default)   the failure is closed in the ledger; its history says discarded, by whom, why.
  sqs:<queue-url>   the message is deleted from the queue, after its discard is recorded in the
                    local ledger as <source>#<message-id> (mesh failed show <that id> shows it).
  servicebus:<namespace>/<entity>
                    the message is completed (removed from the dead-letter subqueue), after the
                    same record. Messages not discarded are released at once.

Options:
  --reason <text>   why these must never run (required)
  --dry-run         list what would be discarded; change nothing
  --limit <n>       at most n
  --actor <name>    who is discarding (default: the OS user)
${COMMON_HELP}`;

interface Discarded {
  id: string;
  eventId?: string;
  routeId?: string;
  action: string;
}

export async function discardCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    reason: { type: 'string' },
    source: { type: 'string' },
    all: { type: 'boolean', default: false },
    route: { type: 'string' },
    error: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    actor: { type: 'string' },
  });
  if (values.help) return (console.log(DISCARD_HELP), 0);
  const opts = commonOptions(values);
  const reason = values.reason?.trim();
  if (!reason) throw new UsageError('--reason "<why>" is required: a discarded event never runs, and the next engineer needs to know why');
  const filtered = values.route !== undefined || values.error !== undefined || values.since !== undefined || values.until !== undefined;
  if (positionals.length === 0 && !values.all && !filtered) throw new UsageError('say what to discard: failure ids (from `mesh failed`), --all, or filters such as --route/--error/--since');
  if (positionals.length > 0 && (values.all || filtered)) throw new UsageError('give failure ids or --all/filters, not both');
  for (const [name, v] of [['--since', values.since], ['--until', values.until]] as const) {
    if (v !== undefined && Number.isNaN(Date.parse(v))) throw new UsageError(`${name}: expected an ISO 8601 time like 2026-11-22T03:00:00Z, got ${JSON.stringify(v)}`);
  }
  const limit = values.limit ? intOption('--limit', values.limit) : undefined;
  const discard = { actor: values.actor ?? currentUser(), reason };
  const dryRun = values['dry-run'];
  const source = values.source === undefined ? { kind: 'local' as const } : parseSource(values.source);
  const done: Discarded[] = [];
  let missing: string[] = [];

  if (source.kind === 'local') {
    let ids = positionals;
    if (ids.length === 0) {
      const access = await openAccess(opts);
      try {
        const records = await access.listFailures({
          status: 'open',
          ...(values.route ? { routeId: values.route } : {}),
          ...(values.error ? { errorCode: values.error } : {}),
          ...(values.since ? { since: new Date(values.since).toISOString() } : {}),
          ...(values.until ? { until: new Date(values.until).toISOString() } : {}),
        });
        ids = records.map((r) => r.id);
      } finally {
        await access.close();
      }
    }
    if (limit !== undefined) ids = ids.slice(0, limit);
    const ledger = await openLedger(opts);
    try {
      for (const id of ids) {
        const record = await ledger.failures.getFailure(id);
        if (!record || record.status !== 'open') {
          missing.push(id);
          continue;
        }
        if (!dryRun) await discardFailure(ledger.failures, id, discard);
        done.push({ id, eventId: record.eventId, ...(record.routeId ? { routeId: record.routeId } : {}), action: dryRun ? 'would be closed' : 'closed' });
      }
    } finally {
      await ledger.close();
    }
  } else if (source.kind === 'sqs' || source.kind === 'servicebus') {
    const finder = await routeFinder(opts);
    const label = source.label;
    const queue: DeadLetterQueue = source.kind === 'sqs' ? await openDeadLetterQueue(source.queueUrl) : openServiceBusDeadLetters(source.namespace, source.entity, finder.sources);
    const view = (e: DeadLetterEntry): DeadLetterView =>
      source.kind === 'sqs' ? deadLetterView(source.queueUrl, e, finder.find) : serviceBusView(label, e as ServiceBusDeadLetterEntry, finder.find);
    const removed = source.kind === 'sqs' ? 'deleted' : 'completed';
    const ledger = dryRun ? undefined : await openLedger(opts);
    let held: DeadLetterEntry[] = [];
    try {
      held = source.kind === 'sqs' ? await receiveAll(queue, { visibilitySeconds: 120 }) : await receiveServiceBusDeadLetters(queue as ReturnType<typeof openServiceBusDeadLetters>);
      const wanted = new Set(positionals.map((id) => (id.includes('#') ? id.slice(id.lastIndexOf('#') + 1) : id)));
      let selected = held.filter((e) => (wanted.size > 0 ? wanted.has(e.message.messageId) : matchesFilters(view(e), values)));
      if (limit !== undefined) selected = selected.slice(0, limit);
      await releaseAll(queue, held.filter((e) => !selected.includes(e)));
      held = selected;
      missing = [...wanted].filter((id) => !selected.some((e) => e.message.messageId === id));
      for (const entry of selected) {
        const v = view(entry);
        const row = { id: v.id, ...(v.eventId ? { eventId: v.eventId } : {}), ...(v.routeIds[0] ? { routeId: v.routeIds.join(',') } : {}) };
        if (!ledger) {
          done.push({ ...row, action: `would be ${removed}` });
          continue;
        }
        const envelope = source.kind === 'sqs' ? entry.letter?.envelope : (entry as ServiceBusDeadLetterEntry).serviceBus.envelope;
        // Who and why first: a message is never gone without its record.
        await recordDiscardedLetter(
          ledger.failures,
          { source: label, messageId: v.messageId, ...(envelope ? { envelope } : { body: entry.message.body }), errorCode: v.errorCode, message: v.message, ...(v.routeIds.length === 1 ? { routeId: v.routeIds[0]! } : {}) },
          discard,
        );
        try {
          await queue.delete(entry.message.receiptHandle);
          done.push({ ...row, action: removed });
        } catch (err) {
          done.push({ ...row, action: `${removed === 'deleted' ? 'delete' : 'complete'} failed: ${(err as Error).message}` });
        }
        held = held.filter((e) => e !== entry);
      }
    } finally {
      await releaseAll(queue, held);
      if (source.kind === 'sqs') queue.close();
      else await (queue as ReturnType<typeof openServiceBusDeadLetters>).closed();
      await ledger?.close();
    }
  }

  for (const id of missing) console.error(`No open failure or message ${printable(id)} (already replayed, discarded or removed, or held by another consumer).`);
  const failed = done.filter((d) => d.action.includes('failed'));
  if (opts.json) console.log(JSON.stringify({ dryRun, reason, actor: discard.actor, discarded: done, missing }, null, 2));
  else {
    console.log(done.length === 0 ? 'Nothing to discard.' : table(['id', 'event id', 'route', 'action'], done.map((d) => [d.id, d.eventId ?? '', d.routeId ?? '', d.action]), 70));
    if (done.length > 0) console.log(`\n${dryRun ? 'Dry run: nothing was changed.' : `Discarded ${done.length - failed.length} by ${discard.actor}: ${reason}`}`);
  }
  return failed.length > 0 || missing.length > 0 ? 1 : 0;
}
