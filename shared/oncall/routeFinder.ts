import { toEventBridgeEvent, type Envelope, type SourceLocation } from '../core/index.ts';
import { loadMesh } from '../config/index.ts';
import { compilePatterns } from '../rules/index.ts';

/** Routes by event, for dead letters whose record does not name the route. */
export interface RouteFinder {
  find(envelope: Envelope): string[];
  /** mesh.yaml's sources: where decoded events come from (their origin region). */
  sources: Record<string, SourceLocation>;
  /** Set when the routes could not be loaded (listing still works, without routes). */
  problem?: string;
}

/**
 * The ids of the loaded routes that match an event, for dead letters whose record does not
 * name its route. When the routes cannot be loaded, listing still works: the route is unknown.
 */
export async function routeFinder(opts: { config: string; routes: string }): Promise<RouteFinder> {
  try {
    const { config, routes } = await loadMesh({ configFile: opts.config, routesDir: opts.routes });
    const matcher = compilePatterns(Object.fromEntries(routes.map((r) => [r.id, r.match])));
    return { find: (e) => matcher.matches(toEventBridgeEvent(e)), sources: config.sources };
  } catch (err) {
    return { find: () => [], sources: {}, problem: `routes not loaded (${(err as Error).message.split('\n')[0]}); the route column is empty` };
  }
}

