import {
  ConfigError,
  systemClock,
  type Clock,
  type Destination,
  type Envelope,
  type Logger,
  type MeshConfig,
  type MeshError,
  type PipelineOptions,
  type Placer,
  type ProviderLookup,
  type Publisher,
  type PublishOutcome,
  type Route,
  silentLogger,
} from '../core/index.ts';
import { readMeshSnapshot } from '../config/snapshot/index.ts';
import { DEFAULT_SIMULATED_SETTINGS, defaultProviders } from '../models/index.ts';
import { createCircuitBreaker, createPlacer, summarizePlacement } from '../placement/index.ts';
import { compilePatternsOnFirstMatch } from '../rules/index.ts';
import { openTelemetry } from '../telemetry/index.ts';

export type ClosableProviders = ProviderLookup & { close?(): Promise<void> };

export interface MeshPartsOptions {
  configFile: string;
  routesDir: string;
  clock?: Clock;
  logger?: Logger;
  /** Injected providers (tests); default: the registry of every provider, checked against the catalogue. */
  providers?: ClosableProviders;
  /** `simulated`: every endpoint answered by the simulated provider, keeping its cloud and region. */
  models?: 'live' | 'simulated';
  /**
   * A snapshot of `configFile` and `routesDir` validated at package time (`mesh.compiled.json`,
   * written by the packaging step). When the file exists it is used instead of loading the files,
   * once checked against them (a stale or edited snapshot fails here); when it does not, the
   * files are loaded and validated as usual.
   */
  snapshotFile?: string;
}

/** Where config and routes came from: a package-time snapshot, or the files loaded and validated at start. */
export type ConfigSource = 'snapshot' | 'files';

export interface MeshParts {
  config: MeshConfig;
  routes: Route[];
  configSource: ConfigSource;
  providers: ClosableProviders;
  placer: Placer;
  /** Everything a Pipeline needs but the edge's store and publisher. */
  pipeline: Omit<PipelineOptions, 'publisher' | 'store'>;
}

/**
 * What every edge (mesh dev, Lambda, Azure Functions) composes the same way: config and
 * routes from disk, the catalogue's providers (an entry none can serve fails here, at start,
 * not on the first event), the route matcher, and a placer sharing one set of endpoint
 * circuits with the invoke step. The edge adds its store and publisher. The matcher is compiled
 * on the first event that needs it (the patterns were validated when loaded or packaged): a
 * delivery through a generated EventBridge rule names its route, so a Lambda may never need it.
 */
export async function loadMeshParts(options: MeshPartsOptions): Promise<MeshParts> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const { config, routes, source: configSource } = await loadConfig(options, logger);
  if (options.models === 'simulated') {
    // Same catalogue, same clouds and regions, so placement decides exactly as it will live;
    // only the answers are simulated, and every result's provenance says so.
    config.models = config.models.map((m) => ({ ...m, provider: 'simulated', options: {}, simulated: m.simulated ?? DEFAULT_SIMULATED_SETTINGS }));
  }
  let providers: ClosableProviders;
  if (options.providers) providers = options.providers;
  else {
    const registry = defaultProviders({ seed: config.seed, clock });
    const issues = registry.configIssues(config.models, config.file);
    if (issues.length > 0) throw new ConfigError(issues);
    providers = registry;
  }
  // One circuit per endpoint for this process: the placer skips open ones, the invoke step feeds them.
  const health = createCircuitBreaker({ clock, ...config.placement?.circuit });
  const placer = createPlacer(config, { health });
  return {
    config,
    routes,
    configSource,
    providers,
    placer,
    pipeline: {
      config,
      routes,
      matcher: compilePatternsOnFirstMatch(Object.fromEntries(routes.map((r) => [r.id, r.match]))),
      placer,
      providers,
      summarizePlacement,
      clock,
      logger,
      health,
      // Spans and metrics through the OpenTelemetry API: a no-op until an SDK is registered.
      telemetry: openTelemetry(),
    },
  };
}

/*
 * The loader (YAML, zod, ajv's compiler) is imported only when there is no snapshot: a bundle
 * puts it in a chunk that a cold start with a snapshot never reads.
 */
async function loadConfig(options: MeshPartsOptions, logger: Logger): Promise<{ config: MeshConfig; routes: Route[]; source: ConfigSource }> {
  const { configFile, routesDir, snapshotFile } = options;
  if (snapshotFile !== undefined) {
    const snapshot = await readMeshSnapshot(snapshotFile, { configFile, routesDir });
    if (snapshot) {
      logger.info('config and routes from the package-time snapshot', { snapshot: snapshotFile, digest: snapshot.digest, routes: snapshot.routes.length });
      return { config: snapshot.config, routes: snapshot.routes, source: 'snapshot' };
    }
  }
  const { loadMesh } = await import('../config/index.ts');
  return { ...(await loadMesh({ configFile, routesDir })), source: 'files' };
}

/** One publisher per destination kind; a kind without one fails its results with `missing(destination)`. */
export function publisherByKind(publishers: Partial<Record<Destination['kind'], Publisher>>, missing: (destination: Destination) => MeshError): Publisher {
  return {
    async publish(destination: Destination, events: Envelope[]): Promise<PublishOutcome[]> {
      const publisher = publishers[destination.kind];
      if (publisher) return publisher.publish(destination, events);
      const error = missing(destination);
      return events.map((e) => ({ id: e.event.id, ok: false as const, error }));
    },
  };
}
