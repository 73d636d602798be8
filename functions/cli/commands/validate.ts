import { relative } from 'node:path';
import { loadMesh } from '../../../shared/config/index.ts';
import { describeConfig } from '../format.ts';
import { COMMON_HELP, commonOptions, parseCommand } from '../options.ts';

export const VALIDATE_HELP = `mesh validate — check mesh.yaml and every route file

Usage: mesh validate [--json]

Exits 0 when everything is valid; otherwise prints each problem as
<file>:<line>:<column> <path>: <what was expected> and exits 1.
${COMMON_HELP}`;

export async function validateCommand(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {});
  if (values.help) return (console.log(VALIDATE_HELP), 0);
  const opts = commonOptions(values);
  // A ConfigError propagates to the entry point, which prints every issue and exits 1.
  const { config, routes } = await loadMesh({ configFile: opts.config, routesDir: opts.routes });
  if (opts.json) {
    console.log(JSON.stringify({ valid: true, models: config.models.map((m) => m.id), routes: routes.map((r) => ({ id: r.id, file: r.file })) }, null, 2));
  } else {
    console.log(describeConfig(config, routes, relative(process.cwd(), opts.config), relative(process.cwd(), opts.routes)));
    console.log('\nValid.');
  }
  return 0;
}
