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
import { loadMesh } from '../config/index.ts';
import { DEFAULT_SIMULATED_SETTINGS, defaultProviders } from '../models/index.ts';
import { createCircuitBreaker, createPlacer, summarizePlacement } from '../placement/index.ts';
import { compilePatterns } from '../rules/index.ts';

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
}

export interface MeshParts {
  config: MeshConfig;
  routes: Route[];
  providers: ClosableProviders;
  placer: Placer;
  /** Everything a Pipeline needs but the edge's store and publisher. */
  pipeline: Omit<PipelineOptions, 'publisher' | 'store'>;
}

/**
 * What every edge (mesh dev, Lambda, Azure Functions) composes the same way: config and
 * routes from disk, the catalogue's providers (an entry none can serve fails here, at start,
 * not on the first event), the route matcher, and a placer sharing one set of endpoint
 * circuits with the invoke step. The edge adds its store and publisher.
 */
export async function loadMeshParts(options: MeshPartsOptions): Promise<MeshParts> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const { config, routes } = await loadMesh({ configFile: options.configFile, routesDir: options.routesDir });
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
    providers,
    placer,
    pipeline: {
      config,
      routes,
      matcher: compilePatterns(Object.fromEntries(routes.map((r) => [r.id, r.match]))),
      placer,
      providers,
      summarizePlacement,
      clock,
      logger,
      health,
    },
  };
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
