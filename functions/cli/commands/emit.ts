import { readFile } from 'node:fs/promises';
import { parseJson } from '../../../shared/buses/index.ts';
import { openAccess } from '../access.ts';
import { outcomeLines } from '../format.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError } from '../options.ts';

export const EMIT_HELP = `mesh emit — send event files through the mesh

Usage: mesh emit <file> [<file>…] [--json]

Each file holds an EventBridge event, a PutEvents entry, a CloudEvent (or a batch), or a
Service Bus message. With mesh dev running, the events go to it; otherwise they are
processed here, against the embedded store.
${COMMON_HELP}`;

export async function emitCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  if (values.help) return (console.log(EMIT_HELP), 0);
  if (positionals.length === 0) throw new UsageError('mesh emit needs at least one event file');
  const opts = commonOptions(values);
  const access = await openAccess(opts, { needsPipeline: true });
  let failed = 0;
  const all: unknown[] = [];
  try {
    for (const file of positionals) {
      const doc = parseJson(await readFile(file, 'utf8'), file);
      const outcomes = await access.ingest(doc);
      for (const o of outcomes) {
        all.push(o);
        failed += (o.routes as Array<{ status: string }>).filter((r) => r.status === 'failed').length;
        if (!opts.json) console.log(`${file}: ${outcomeLines(o).join('\n')}`);
      }
    }
  } finally {
    await access.close();
  }
  if (opts.json) console.log(JSON.stringify(all, null, 2));
  else console.error(`(via ${access.via})`);
  return failed > 0 ? 1 : 0;
}
