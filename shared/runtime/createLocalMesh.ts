import { join } from 'node:path';
import { ConfigError, Pipeline, Replayer, systemClock, type Clock, type Logger, type MeshConfig, type Placer, type Route, type Store, silentLogger } from '../core/index.ts';
import { LocalBus } from '../buses/index.ts';
import { loadMesh } from '../config/index.ts';
import { DEFAULT_SIMULATED_SETTINGS, defaultProviders } from '../models/index.ts';
import { createCircuitBreaker, createPlacer, summarizePlacement } from '../placement/index.ts';
import { compilePatterns } from '../rules/index.ts';
import { openLocalStore } from '../store/index.ts';

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
}

export interface LocalMesh {
  config: MeshConfig;
  routes: Route[];
  pipeline: Pipeline;
  store: Store;
  bus: LocalBus;
  placer: Placer;
  /** Replays failed events from the ledger through `pipeline`. */
  replayer: Replayer;
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
  const logger = options.logger ?? silentLogger;
  const { config, routes } = await loadMesh({ configFile: options.configFile, routesDir: options.routesDir });
  // A catalogue entry no provider can serve fails at start, not on the first event at 3 a.m.
  if (options.models === 'simulated') {
    // Same catalogue, same clouds and regions, so placement decides exactly as it will live;
    // only the answers are simulated, and every result's provenance says so.
    config.models = config.models.map((m) => ({ ...m, provider: 'simulated', options: {}, simulated: m.simulated ?? DEFAULT_SIMULATED_SETTINGS }));
  }
  const providers = defaultProviders({ seed: config.seed, clock });
  const issues = providers.configIssues(config.models, config.file);
  if (issues.length > 0) throw new ConfigError(issues);
  const store = await openLocalStore({ dir: options.home, clock });
  const bus = new LocalBus(store.events, clock);
  // One circuit per endpoint for this process: the placer skips open ones, the invoke step feeds them.
  const health = createCircuitBreaker({ clock, ...config.placement?.circuit });
  const placer = createPlacer(config, { health });
  const pipeline = new Pipeline({
    config,
    routes,
    matcher: compilePatterns(Object.fromEntries(routes.map((r) => [r.id, r.match]))),
    placer,
    providers,
    publisher: bus,
    store,
    summarizePlacement,
    clock,
    logger,
    health,
  });
  const replayer = new Replayer({ pipeline, placer, store, clock });
  // Providers first: a Bedrock client keeps an HTTP/2 session open until it is destroyed.
  const close = async () => {
    await providers.close();
    await store.close();
  };
  return { config, routes, pipeline, store, bus, placer, replayer, close };
}

/** `.mesh/` beside the config, unless MESH_HOME says otherwise. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.MESH_HOME ?? join(process.cwd(), '.mesh');
}
