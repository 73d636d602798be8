import { join } from 'node:path';
import { Pipeline, Replayer, systemClock, type Clock, type Logger, type MeshConfig, type Placer, type Route, type Store, type UsageCounters } from '../core/index.ts';
import { LocalBus } from '../buses/index.ts';
import { DEFAULT_RETENTION } from '../config/index.ts';
import { openLocalStore, type PruneReport } from '../store/index.ts';
import type { AuditTrail } from '../core/ports/AuditLog.ts';
import { loadMeshParts } from './composeMesh.ts';

export interface LocalMeshOptions {
  configFile: string;
  routesDir: string;
  /** Where the embedded store lives (`.mesh/` by default, or `$MESH_HOME`). */
  home: string;
  logger?: Logger;
  clock?: Clock;
  /**
   * `live` (default): each endpoint is called through its configured provider.
   * `simulated`: every endpoint, whatever its provider, is answered by the simulated provider
   * with its own cloud and region — a production catalogue runs offline, with no credentials.
   */
  models?: 'live' | 'simulated';
  /**
   * Prune the store as mesh.yaml's `retention:` says (events 7 days, resolved failures 30
   * days by default) once it is open. `mesh dev` does, at every start.
   */
  prune?: boolean;
  /**
   * Counters for route budgets and endpoint rate limits, instead of the store's (tests, or
   * counters shared with another process). Default: the embedded store's, when it keeps them.
   */
  counters?: UsageCounters;
}

export interface LocalMesh {
  config: MeshConfig;
  routes: Route[];
  pipeline: Pipeline;
  store: Store;
  /** The audit trail of model invocations the store keeps (`mesh audit`). */
  audit?: AuditTrail;
  bus: LocalBus;
  placer: Placer;
  /** Replays failed events from the ledger through `pipeline`. */
  replayer: Replayer;
  /** The usage counters budgets and limits are checked against (`mesh explain` reads them); absent when there are none. */
  counters?: UsageCounters;
  /** What opening pruned, when `prune` was asked for. */
  pruned?: PruneReport;
  close(): Promise<void>;
}

/**
 * The local mesh: config and routes from disk, the embedded store, the catalogue's model
 * providers (simulated, or real ones configured from the environment: AWS credential chain and
 * AWS_ENDPOINT_URL_BEDROCK_RUNTIME, OPENAI_*, AZURE_OPENAI_*), the local bus — composed
 * around the same Pipeline that the Lambda and Azure handlers use.
 */
export async function createLocalMesh(options: LocalMeshOptions): Promise<LocalMesh> {
  const clock = options.clock ?? systemClock;
  const parts = await loadMeshParts({ ...options, clock });
  const { config, routes, providers, placer } = parts;
  const store = await openLocalStore({ dir: options.home, clock });
  const counters = options.counters ?? store.counters;
  let pruned: PruneReport | undefined;
  try {
    pruned = options.prune ? await store.prune(config.retention ?? DEFAULT_RETENTION) : undefined;
  } catch (err) {
    await providers.close?.();
    await store.close();
    throw err;
  }
  const bus = new LocalBus(store.events, clock);
  // Every model invocation attempt is kept in the store's audit table (`mesh audit`).
  let pipeline: Pipeline;
  try {
    pipeline = new Pipeline({ ...parts.pipeline, publisher: bus, store, audit: store.audit, ...(counters ? { counters } : {}) });
  } catch (err) {
    // A mesh whose budgets or limits this store cannot count refuses to start: leave nothing open.
    await providers.close?.();
    await store.close();
    throw err;
  }
  const replayer = new Replayer({ pipeline, placer, store, clock });
  // Providers first: a Bedrock client keeps an HTTP/2 session open until it is destroyed.
  const close = async () => {
    await providers.close?.();
    await store.close();
  };
  return { config, routes, pipeline, store, audit: store.audit, bus, placer, replayer, close, ...(pruned ? { pruned } : {}), ...(counters ? { counters } : {}) };
}

/** `.mesh/` beside the config, unless MESH_HOME says otherwise. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.MESH_HOME ?? join(process.cwd(), '.mesh');
}
