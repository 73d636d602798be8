import { openAccess } from '../access.ts';
import { eventsTable } from '../format.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError } from '../options.ts';

export const EVENTS_HELP = `mesh events — list the local event log (inputs and results)

Usage: mesh events [--kind input|result] [--route <id>] [--after <seq>] [--limit <n>] [--json]
${COMMON_HELP}`;

export async function eventsCommand(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {
    kind: { type: 'string' },
    route: { type: 'string' },
    after: { type: 'string' },
    limit: { type: 'string' },
  });
  if (values.help) return (console.log(EVENTS_HELP), 0);
  const opts = commonOptions(values);
  if (values.kind !== undefined && values.kind !== 'input' && values.kind !== 'result') {
    throw new UsageError(`--kind: expected input or result, got ${JSON.stringify(values.kind)}`);
  }
  const access = await openAccess(opts);
  try {
    const events = await access.listEvents({
      ...(values.kind ? { kind: values.kind } : {}),
      ...(values.route ? { routeId: values.route } : {}),
      ...(values.after ? { afterSeq: intOption('--after', values.after) } : {}),
      ...(values.limit ? { limit: intOption('--limit', values.limit) } : {}),
    });
    if (opts.json) console.log(JSON.stringify(events, null, 2));
    else console.log(events.length === 0 ? `No events yet (read from ${access.via}).` : eventsTable(events));
    return 0;
  } finally {
    await access.close();
  }
}

export function intOption(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name}: expected a whole number, got ${JSON.stringify(raw)}`);
  return n;
}
