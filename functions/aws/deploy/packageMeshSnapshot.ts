/*
 * Writes the package's mesh snapshot (mesh.compiled.json) for the packaging step
 * (meshSnapshotPlugin.cjs): the bundled mesh.yaml and routes, validated by the same loader as
 * the handler, so a broken route fails packaging with its file and line, and a cold start
 * loads plain JSON instead of parsing and validating the files.
 * Usage: node --import tsx functions/aws/deploy/packageMeshSnapshot.ts <service dir> <out file>
 *
 * The snapshot is always of the files the package ships (package.patterns: mesh.yaml,
 * events/routes), never of MESH_CONFIG / MESH_ROUTES_DIR: those choose what the rules and IAM
 * are generated from, but the function runs what is in its package, and the snapshot must
 * describe exactly that to pass its own check at a cold start.
 */
import { relative } from 'node:path';
import { formatConfigIssue, ConfigError } from '../../../shared/core/index.ts';
import { writeMeshSnapshot } from '../../../shared/config/snapshot/writeMeshSnapshot.ts';
import { BUNDLED_CONFIG, BUNDLED_ROUTES_DIR } from '../meshFromEnv.ts';

const [root = process.cwd(), out] = process.argv.slice(2);
try {
  if (!out) throw new Error('usage: packageMeshSnapshot.ts <service dir> <out file>');
  const snapshot = await writeMeshSnapshot(out, { root, configFile: BUNDLED_CONFIG, routesDir: BUNDLED_ROUTES_DIR });
  const { routes, sources } = snapshot.body;
  process.stderr.write(`mesh snapshot: ${routes.length} routes from ${sources.length} files, validated → ${relative(root, out)} (sha256 ${snapshot.digest.slice(0, 12)}…)\n`);
} catch (err) {
  process.stderr.write(err instanceof ConfigError ? err.issues.map(formatConfigIssue).join('\n') + '\n' : `${(err as Error).message}\n`);
  process.exitCode = 1;
}
