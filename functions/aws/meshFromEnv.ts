import { join } from 'node:path';
import { MESH_SNAPSHOT_FILE } from '../../shared/config/snapshot/index.ts';
import type { AwsMeshOptions } from '../../shared/runtime/createAwsMesh.ts';

/** Where the package puts the config, relative to the task root (serverless.yml, package.patterns). */
export const BUNDLED_CONFIG = 'mesh.yaml';
export const BUNDLED_ROUTES_DIR = 'events/routes';

export interface AwsHandlerSettings {
  mesh: Pick<AwsMeshOptions, 'configFile' | 'routesDir' | 'snapshotFile' | 'idempotencyTable' | 'countersTable' | 'eventBridge'>;
  /** The bus results go back to when a route names no destination (MESH_EVENT_BUS, default `default`). */
  eventBus: string;
  /** Time kept back from the model step for publishing the result (MESH_PUBLISH_MARGIN_MS, default 3000). */
  publishMarginMs: number;
  /** The on-failure queue's URL (MESH_FAILURE_QUEUE_URL): permanent failures are written there directly. */
  failureQueueUrl?: string;
}

/**
 * The handler's settings from its environment. The config is bundled beside the handler
 * (`mesh.yaml`, `events/routes`, `events/schemas` in the package) together with its snapshot
 * validated at package time (`mesh.compiled.json`), which the handler loads instead of the files.
 * MESH_CONFIG or MESH_ROUTES_DIR point elsewhere (tests do); then the files are loaded, since the
 * snapshot describes the bundled ones only.
 *
 * @example
 * settingsFromEnv({ MESH_IDEMPOTENCY_TABLE: 'nearmesh-idem', LAMBDA_TASK_ROOT: '/var/task' }).mesh.snapshotFile // '/var/task/mesh.compiled.json'
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): AwsHandlerSettings {
  const root = env.LAMBDA_TASK_ROOT ?? process.cwd();
  const maxEntryBytes = positive(env.MESH_EVENTBRIDGE_MAX_ENTRY_BYTES, 'MESH_EVENTBRIDGE_MAX_ENTRY_BYTES');
  return {
    mesh: {
      configFile: env.MESH_CONFIG ?? join(root, BUNDLED_CONFIG),
      routesDir: env.MESH_ROUTES_DIR ?? join(root, BUNDLED_ROUTES_DIR),
      ...(env.MESH_CONFIG === undefined && env.MESH_ROUTES_DIR === undefined ? { snapshotFile: join(root, MESH_SNAPSHOT_FILE) } : {}),
      ...(env.MESH_IDEMPOTENCY_TABLE ? { idempotencyTable: env.MESH_IDEMPOTENCY_TABLE } : {}),
      ...(env.MESH_COUNTERS_TABLE ? { countersTable: env.MESH_COUNTERS_TABLE } : {}),
      eventBridge: {
        traceHeader: () => process.env._X_AMZN_TRACE_ID,
        ...(maxEntryBytes === undefined ? {} : { maxEntryBytes, maxRequestBytes: maxEntryBytes }),
      },
    },
    eventBus: env.MESH_EVENT_BUS || 'default',
    publishMarginMs: positive(env.MESH_PUBLISH_MARGIN_MS, 'MESH_PUBLISH_MARGIN_MS') ?? 3000,
    ...(env.MESH_FAILURE_QUEUE_URL ? { failureQueueUrl: env.MESH_FAILURE_QUEUE_URL } : {}),
  };
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number of bytes or milliseconds, got "${value}"`);
  return n;
}
