import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';

/** Options every command takes. */
export interface CommonOptions {
  config: string;
  routes: string;
  home: string;
  json: boolean;
  /** MESH_MODELS: `simulated` answers every endpoint with the simulated provider (see mesh dev --help). */
  models: 'live' | 'simulated';
}

export const COMMON_OPTIONS = {
  config: { type: 'string' },
  routes: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = `Common options:
  --config <file>   mesh.yaml to load (env MESH_CONFIG; default mesh.yaml)
  --routes <dir>    route files directory (env MESH_ROUTES_DIR; default events/routes)
  --json            machine-readable output
  -h, --help        this help
Environment: MESH_HOME (embedded store, default .mesh), MESH_PORT (mesh dev port, default 4010),
  MESH_LOG_LEVEL (debug|info|warn|error: structured JSON logs on stderr; off by default in mesh dev)`;

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

export function parseCommand<O extends ParseArgsConfig['options']>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function commonOptions(values: { config?: string | boolean | undefined; routes?: string | boolean | undefined; json?: string | boolean | undefined }, env = process.env): CommonOptions {
  return {
    config: resolve(String(values.config ?? env.MESH_CONFIG ?? 'mesh.yaml')),
    routes: resolve(String(values.routes ?? env.MESH_ROUTES_DIR ?? 'events/routes')),
    home: resolve(env.MESH_HOME ?? '.mesh'),
    json: values.json === true,
    models: modelsMode(env.MESH_MODELS),
  };
}

export function portOption(value: string | boolean | undefined, env = process.env): number {
  const raw = typeof value === 'string' ? value : (env.MESH_PORT ?? '4010');
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port/MESH_PORT: expected a port number 0-65535, got ${JSON.stringify(raw)}`);
  }
  return port;
}

export function modelsMode(raw: string | undefined): 'live' | 'simulated' {
  const mode = raw ?? 'live';
  if (mode !== 'live' && mode !== 'simulated') throw new UsageError(`--models/MESH_MODELS: expected live or simulated, got ${JSON.stringify(mode)}`);
  return mode;
}
