import { parseDuration } from '../../../shared/config/retention.ts';
import type { AuditEntry, AuditFilter } from '../../../shared/core/ports/AuditLog.ts';
import { openAccess } from '../access.ts';
import { table } from '../format.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError, type CommonOptions } from '../options.ts';
import { intOption } from './events.ts';

export const AUDIT_HELP = `mesh audit — list model invocations from the local audit trail, newest first

Usage: mesh audit [--route <id>] [--since <time|duration>] [--limit <n>] [--json]

One record per model invocation attempt: when, route, event id, endpoint, provider and
region, where the data lives and which input said so (route, event, origin, sources),
classification, tokens, cost, outcome (ok or the error code) and latency. Never the
event's content, the prompt or the answer.

  --route <id>      only this route's invocations
  --since <time>    from an ISO 8601 time (2026-11-22T03:00:00Z) or a duration ago (90m, 36h, 7d)
  --limit <n>       at most n records (default 100)

On AWS and Azure the same records are structured log lines marked
"audit": "nearmesh.model-invocation.v1"; the README's Audit section has the queries.
${COMMON_HELP}`;

const DEFAULT_LIMIT = 100;

/**
 * `mesh audit`: the local audit trail, through the running mesh dev (which holds the
 * embedded store) or, when none runs, from the store itself.
 *
 * @example
 * await auditCommand(['--route', 'order-risk', '--since', '1h', '--json']);
 */
export async function auditCommand(args: string[], now: () => Date = () => new Date()): Promise<number> {
  const { values, positionals } = parseCommand(args, { route: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' } });
  if (values.help) return (console.log(AUDIT_HELP), 0);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const opts = commonOptions(values);
  const filter: AuditFilter = {
    ...(values.route ? { routeId: values.route } : {}),
    ...(values.since ? { since: sinceOption(values.since, now()) } : {}),
    limit: values.limit ? intOption('--limit', values.limit) : DEFAULT_LIMIT,
  };
  const { entries, via } = await listAudit(opts, filter);
  if (opts.json) console.log(JSON.stringify(entries, null, 2));
  else console.log(entries.length === 0 ? `No model invocations recorded (read from ${via}).` : auditTable(entries));
  return 0;
}

/** An ISO 8601 time, or a duration counted back from now. */
export function sinceOption(raw: string, now: Date): string {
  const ago = parseDuration(raw);
  if (ago !== undefined) return new Date(now.getTime() - ago).toISOString();
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new UsageError(`--since: expected an ISO 8601 time like 2026-11-22T03:00:00Z or a duration like 90m, 36h or 7d, got ${JSON.stringify(raw)}`);
  return new Date(ms).toISOString();
}

async function listAudit(opts: CommonOptions, filter: AuditFilter): Promise<{ entries: AuditEntry[]; via: string }> {
  const access = await openAccess(opts);
  try {
    return { entries: await access.listAudit(filter), via: access.via };
  } finally {
    await access.close();
  }
}

function auditTable(entries: AuditEntry[]): string {
  return table(
    ['at', 'route', 'event', 'endpoint', 'region', 'data (from)', 'class', 'tokens in/out', 'cost $', 'outcome', 'ms'],
    entries.map((e) => [
      e.at,
      e.routeId,
      e.eventId,
      e.endpoint,
      e.region ?? 'global',
      `${e.dataLocation} (${e.dataLocationSource})`,
      e.classification,
      e.tokens ? `${e.tokens.input}/${e.tokens.output}` : '-',
      e.costUsd === null ? '-' : e.costUsd.toFixed(6),
      e.outcome === 'ok' ? 'ok' : (e.errorCode ?? 'error'),
      String(e.latencyMs),
    ]),
  );
}
