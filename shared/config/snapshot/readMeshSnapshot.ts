import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import { ConfigError } from '../../core/errors.ts';
import type { MeshConfig } from '../../core/catalogue.ts';
import type { Route } from '../../core/route.ts';
import { formatOutputError } from '../outputErrors.ts';
import { SNAPSHOT_FORMAT, sha256, snapshotDigest, type MeshSnapshot, type MeshSnapshotBody } from './format.ts';

/*
 * Read at a cold start, so this file imports nothing but node built-ins and the formatting of
 * output errors: no YAML parser, no zod, no ajv. Checking costs a hash of each source file
 * (a few kilobytes each) and one of the snapshot: well under a millisecond against the tens of
 * milliseconds of loading and validating the files.
 */

export interface LoadedSnapshot {
  config: MeshConfig;
  routes: Route[];
  /** The snapshot's digest, for the log line that says which snapshot runs. */
  digest: string;
}

export interface ReadMeshSnapshotOptions {
  /** The mesh.yaml the snapshot must describe (the one the loader would read without it). */
  configFile: string;
  /** The routes directory the snapshot must describe. */
  routesDir: string;
}

type Validator = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * Load a mesh snapshot written at package time, after checking that it is intact and still
 * describes the files beside it. Returns `undefined` when there is no snapshot (then the caller
 * loads the files as usual).
 *
 * @example
 * const snap = await readMeshSnapshot('/var/task/mesh.compiled.json', { configFile: '/var/task/mesh.yaml', routesDir: '/var/task/events/routes' });
 * const { config, routes } = snap ?? (await loadMesh({ configFile, routesDir }));
 * @throws ConfigError when the snapshot was edited, comes from another version, or a source file
 *   changed, appeared or disappeared since it was built: running it would silently run a
 *   configuration other than the one shipped.
 */
export async function readMeshSnapshot(file: string, options: ReadMeshSnapshotOptions): Promise<LoadedSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const refuse = (path: string, message: string, cause?: unknown): never => {
    throw new ConfigError(
      [{ file, path, message: `${message}; repackage (npm run package:aws) to rebuild it, or delete it to load mesh.yaml and the routes at start` }],
      cause === undefined ? {} : { cause },
    );
  };
  let snapshot: MeshSnapshot;
  try {
    snapshot = JSON.parse(text) as MeshSnapshot;
  } catch (cause) {
    return refuse('', `not a mesh snapshot: ${(cause as Error).message}`, cause);
  }
  if (snapshot?.format !== SNAPSHOT_FORMAT) return refuse('format', `written by another version of nearmesh (format ${JSON.stringify(snapshot?.format)}, expected ${SNAPSHOT_FORMAT})`);
  const body = snapshot.body;
  if (snapshotDigest(body) !== snapshot.digest) return refuse('digest', 'does not match the content: the snapshot was edited or damaged after packaging');

  const root = dirname(file);
  if (resolve(root, body.configFile) !== resolve(options.configFile) || resolve(root, body.routesDir) !== resolve(options.routesDir)) {
    return refuse('configFile', `describes ${body.configFile} and ${body.routesDir} beside it, not ${options.configFile} and ${options.routesDir}`);
  }
  await checkSources(root, body, refuse);

  // Evaluated when a route first checks an answer, not at the cold start: an event that matches
  // no route (or a route that never sees one) does not pay for parsing every validator.
  let validators: Record<string, Validator> | undefined;
  const config: MeshConfig = { ...body.config, file: join(root, body.config.file) };
  const routes = body.routes.map((route, i): Route => {
    let validator: Validator | undefined;
    const validatorOf = (): Validator => {
      validators ??= loadValidators(body.validators);
      const found = validators[`v${i}`];
      return typeof found === 'function' ? found : refuse(`routes[${i}]`, `has no output validator for route ${route.id}`);
    };
    return {
      ...route,
      file: join(root, route.file),
      task: {
        ...route.task,
        validateOutput: (value: unknown) => {
          validator ??= validatorOf();
          return validator(value) ? [] : (validator.errors ?? []).map(formatOutputError);
        },
      },
    };
  });
  return { config, routes, digest: snapshot.digest };
}

/** Every source file still hashes as it did at package time, and the routes directory holds the same files. */
async function checkSources(root: string, body: MeshSnapshotBody, refuse: (path: string, message: string, cause?: unknown) => never): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(join(root, body.routesDir))).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (cause) {
    return refuse('routesDir', `${body.routesDir} is missing`, cause);
  }
  const added = names.filter((n) => !body.routeFiles.includes(n));
  if (added.length > 0) refuse('routeFiles', `${added.map((n) => `${body.routesDir}/${n}`).join(', ')} ${added.length > 1 ? 'were' : 'was'} added since the snapshot was built`);
  await Promise.all(
    body.sources.map(async ({ path, sha256: expected }) => {
      let actual: string;
      try {
        actual = sha256(await readFile(join(root, path)));
      } catch (cause) {
        return refuse('sources', `${path} is gone since the snapshot was built`, cause);
      }
      if (actual !== expected) refuse('sources', `${path} changed since the snapshot was built (sha256 ${expected.slice(0, 12)}… then, ${actual.slice(0, 12)}… now)`);
    }),
  );
}

/*
 * The validators are code generated at package time by ajv (which compiles every schema into a
 * function the same way at start, through `new Function`) and covered by the snapshot's digest:
 * evaluating them trusts nothing the package does not already run.
 */
function loadValidators(code: string): Record<string, Validator> {
  const module = { exports: {} as Record<string, Validator> };
  new Function('module', 'exports', code)(module, module.exports);
  return module.exports;
}
