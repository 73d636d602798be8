/*
 * Prints the deploy plan as JSON for serverless.yml's resolver (serverless-rules.cjs): the
 * routes and catalogue are loaded and validated by the same loader the handler uses, so a
 * broken route fails packaging with its file and line, not the first event after deploying.
 * Usage: node --import tsx functions/aws/deploy/printDeployPlan.ts <service> <stage> <eventBus>
 */
import { join } from 'node:path';
import { formatConfigIssue, ConfigError } from '../../../shared/core/index.ts';
import { loadMesh } from '../../../shared/config/index.ts';
import { deployPlan } from './deployPlan.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const [service = 'nearmesh', stage = 'dev', eventBus = 'default'] = process.argv.slice(2);
try {
  const { config, routes } = await loadMesh({
    configFile: process.env.MESH_CONFIG ?? join(root, 'mesh.yaml'),
    routesDir: process.env.MESH_ROUTES_DIR ?? join(root, 'events', 'routes'),
  });
  process.stdout.write(JSON.stringify(deployPlan(config, routes, { service, stage, eventBus })));
} catch (err) {
  process.stderr.write(err instanceof ConfigError ? err.issues.map(formatConfigIssue).join('\n') + '\n' : `${(err as Error).message}\n`);
  process.exitCode = 1;
}
