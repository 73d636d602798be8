import { openAccess } from '../access.ts';
import { failureDetail, failuresTable } from '../format.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError } from '../options.ts';
import { intOption } from './events.ts';

export const FAILED_HELP = `mesh failed — list failed events with their reason

Usage: mesh failed [--route <id>] [--error <code>] [--status open|resolved|all] [--since <time>] [--until <time>] [--limit <n>] [--json]
       mesh failed show <failure-id> [--json]

Lists open failures by default, newest first. Times are ISO 8601 (2026-11-22T03:00:00Z).
${COMMON_HELP}`;

export async function failedCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
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
  const access = await openAccess(opts);
  try {
    if (positionals[0] === 'show') {
      const id = positionals[1];
      if (!id) throw new UsageError('mesh failed show needs a failure id (the first column of `mesh failed`)');
      const record = await access.getFailure(id);
      if (!record) {
        console.error(`No failure with id ${id} (read from ${access.via}). List them with \`mesh failed --status all\`.`);
        return 1;
      }
      console.log(opts.json ? JSON.stringify(record, null, 2) : failureDetail(record));
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}; did you mean \`mesh failed show <id>\`?`);
    const records = await access.listFailures({
      ...(values.route ? { routeId: values.route } : {}),
      ...(values.error ? { errorCode: values.error } : {}),
      ...(status !== 'all' ? { status } : {}),
      ...(values.since ? { since: new Date(values.since).toISOString() } : {}),
      ...(values.until ? { until: new Date(values.until).toISOString() } : {}),
      ...(values.limit ? { limit: intOption('--limit', values.limit) } : {}),
    });
    if (opts.json) console.log(JSON.stringify(records, null, 2));
    else console.log(records.length === 0 ? `No ${status === 'all' ? '' : status + ' '}failures (read from ${access.via}).` : failuresTable(records));
    return 0;
  } finally {
    await access.close();
  }
}
