import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * Vitest globalSetup: compiles dist/ (`npm run build`) once before any test file runs, so the
 * tests that start `mesh` as a user does (bin/mesh.js) run today's sources compiled, never a
 * stale build, and never the slower tsx fallback.
 */
export default async function buildDist(): Promise<void> {
  await promisify(execFile)(process.execPath, ['build.ts', '--quiet'], { cwd: join(import.meta.dirname, '..'), timeout: 60_000 });
}
