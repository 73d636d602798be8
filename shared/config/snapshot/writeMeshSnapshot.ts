import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { _ } from 'ajv';
import standaloneCodeModule from 'ajv/dist/standalone/index.js';
import { build, type Plugin } from 'esbuild';
import { parse } from 'yaml';
import { ConfigError } from '../../core/errors.ts';
import { loadMesh } from '../loadMesh.ts';
import { newOutputAjv } from '../outputSchema.ts';
import { SNAPSHOT_FORMAT, sha256, snapshotDigest, type MeshSnapshot, type MeshSnapshotBody, type SnapshotRoute, type SnapshotSource } from './format.ts';

/*
 * Package time only (imported by its own path, never through the folder's door): this file
 * loads the YAML loader, zod, ajv's code generator and esbuild, everything a cold start must not.
 */

// ajv's standalone module is CommonJS; under ESM its default export may arrive wrapped once more.
const standaloneCode = ((standaloneCodeModule as unknown as { default?: unknown }).default ?? standaloneCodeModule) as typeof standaloneCodeModule.default;

export interface BuildMeshSnapshotOptions {
  /** The package root: where the snapshot will sit, and what every path in it is relative to. */
  root: string;
  /** mesh.yaml, relative to `root` (as the handler finds it in the package). */
  configFile: string;
  /** The routes directory, relative to `root`. */
  routesDir: string;
}

/**
 * Load and validate mesh.yaml and the routes with the same loader as at start, and return them
 * as a snapshot: plain JSON, each route's output validator generated as code, and the SHA-256 of
 * every file read.
 *
 * @example
 * const snapshot = await buildMeshSnapshot({ root: '.', configFile: 'mesh.yaml', routesDir: 'events/routes' });
 * snapshot.body.sources.map((s) => s.path) // ['mesh.yaml', 'events/routes/invoice-extract.yaml', 'events/schemas/invoice-extract.output.json', …]
 * @throws ConfigError with every problem in the files (as `mesh validate` reports them), or when
 *   a route's `$ref` points outside `root` (the package would not contain it).
 */
export async function buildMeshSnapshot(options: BuildMeshSnapshotOptions): Promise<MeshSnapshot> {
  const root = resolve(options.root);
  const configFile = join(root, options.configFile);
  const routesDir = join(root, options.routesDir);
  const { config, routes } = await loadMesh({ configFile, routesDir });

  const rel = (file: string, why: string): string => {
    const r = relative(root, resolve(file));
    if (r.startsWith('..') || isAbsolute(r)) throw new ConfigError([{ file, path: '', message: `${why} lies outside the package root ${root}: the package would not contain it` }]);
    return r.split(sep).join('/');
  };
  const routeFiles = (await readdir(routesDir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  const read = [configFile, ...routeFiles.map((n) => join(routesDir, n))];
  for (const route of routes) {
    const ref = await outputRef(route.file);
    if (ref !== undefined) read.push(join(dirname(route.file), ref));
  }
  const sources: SnapshotSource[] = await Promise.all(read.map(async (file) => ({ path: rel(file, 'a source file'), sha256: sha256(await readFile(file)) })));

  const stored: SnapshotRoute[] = routes.map(({ task: { validateOutput: _validate, ...task }, ...route }) => ({ ...route, file: rel(route.file, 'a route file'), task }));
  const body: MeshSnapshotBody = {
    configFile: rel(configFile, 'mesh.yaml'),
    routesDir: rel(routesDir, 'the routes directory'),
    routeFiles,
    sources,
    config: { ...config, file: rel(config.file, 'mesh.yaml') },
    routes: stored,
    validators: await validatorModule(routes.map((r) => r.task.output)),
  };
  return { format: SNAPSHOT_FORMAT, digest: snapshotDigest(body), body };
}

/**
 * Build the snapshot and write it to `out` (written aside, then renamed: a reader never sees half a file).
 *
 * @example await writeMeshSnapshot('.esbuild/.build/mesh.compiled.json', { root: '.', configFile: 'mesh.yaml', routesDir: 'events/routes' });
 */
export async function writeMeshSnapshot(out: string, options: BuildMeshSnapshotOptions): Promise<MeshSnapshot> {
  const snapshot = await buildMeshSnapshot(options);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(`${out}.tmp`, JSON.stringify(snapshot));
  await rename(`${out}.tmp`, out);
  return snapshot;
}

/** The file a route's `task.output: { $ref }` names, relative to the route file (the loader's rule), if any. */
async function outputRef(routeFile: string): Promise<string | undefined> {
  const doc = parse(await readFile(routeFile, 'utf8')) as { task?: { output?: { $ref?: unknown } } } | null;
  const ref = doc?.task?.output?.$ref;
  return typeof ref === 'string' && !ref.startsWith('#') ? ref : undefined;
}

/*
 * One standalone module per schema (each from a fresh ajv, as at start, so `$id`s of two routes
 * cannot collide), bundled with the ajv runtime helpers and formats they require into one
 * CommonJS module without imports. `platform: neutral` makes a Node built-in a build error.
 */
async function validatorModule(schemas: Record<string, unknown>[]): Promise<string> {
  const modules = schemas.map((schema) => {
    const ajv = newOutputAjv({ validateSchema: false, code: { source: true, esm: true, formats: _`require("ajv-formats/dist/formats").fullFormats` } });
    return standaloneCode(ajv, ajv.compile(schema));
  });
  const virtual: Plugin = {
    name: 'route-validators',
    setup(b) {
      b.onResolve({ filter: /^route-validator:\d+$/ }, (args) => ({ path: args.path, namespace: 'route-validator' }));
      b.onLoad({ filter: /.*/, namespace: 'route-validator' }, (args) => ({
        contents: modules[Number(args.path.slice('route-validator:'.length))],
        loader: 'js',
        resolveDir: import.meta.dirname,
      }));
    },
  };
  const result = await build({
    stdin: { contents: modules.map((_m, i) => `export { default as v${i} } from 'route-validator:${i}';`).join('\n'), resolveDir: import.meta.dirname, loader: 'js' },
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'neutral',
    mainFields: ['main', 'module'],
    target: 'node24',
    minify: true,
    legalComments: 'none',
    plugins: [virtual],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
