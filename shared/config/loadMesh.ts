import type { MeshConfig } from '../core/catalogue.ts';
import type { Route } from '../core/route.ts';
import { loadMeshConfig } from './loadMeshConfig.ts';
import { loadRoutes } from './loadRoutes.ts';

export interface LoadMeshOptions {
  /** Path to mesh.yaml. */
  configFile: string;
  /** Directory of route files (`events/routes`). */
  routesDir: string;
}

/**
 * Load mesh.yaml, then every route checked against it.
 *
 * @example
 * const { config, routes } = await loadMesh({ configFile: 'mesh.yaml', routesDir: 'events/routes' });
 * @throws ConfigError with every problem found (routes are checked only once mesh.yaml is valid,
 *   because their references point into it).
 */
export async function loadMesh(options: LoadMeshOptions): Promise<{ config: MeshConfig; routes: Route[] }> {
  const config = await loadMeshConfig(options.configFile);
  const routes = await loadRoutes(options.routesDir, config);
  return { config, routes };
}
