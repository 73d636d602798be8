/**
 * `npm run build` — compiles what runs outside the Lambda bundle, once, into dist/:
 *
 *   dist/cli/mesh.js     the `mesh` command (bin/mesh.js runs it; `npm start` builds, then runs `mesh dev`)
 *   dist/azure/app.js    the Azure Functions app (package.json `main`)
 *   dist/chunks/…        code the two share, and what a command or route needs only when it runs
 *
 * ESM for Node 24, linked source maps beside each file. Our code is bundled; packages stay
 * imports of node_modules (they ship JavaScript already): that builds in well under a second,
 * starts faster than a bundle of every SDK, and keeps one copy of each package — the Azure app
 * needs that, since the Service Bus settlement extension registers itself in the
 * @azure/functions-extensions-base that @azure/functions resolves. Code splitting keeps each
 * command in its own chunk, so `mesh --help` reads a few KiB and no SDK.
 *
 * The Lambda is bundled separately, whole, by serverless-esbuild (serverless.yml, custom.esbuild).
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';

const root = import.meta.dirname;
const outdir = join(root, 'dist');

const started = performance.now();
const { outputFiles } = await build({
  absWorkingDir: root,
  entryPoints: { 'cli/mesh': 'functions/cli/mesh.ts', 'azure/app': 'functions/azure/app.ts' },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  packages: 'external',
  platform: 'node',
  target: 'node24',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Written below, all at once: a test run or `mesh` started meanwhile sees the old dist/ or the new one.
  write: false,
});

// Written beside the tree, then swapped in by renames: several test runs may build at the same
// time while others run the CLI. A fresh directory also drops chunks of earlier builds (their
// names carry content hashes). The source maps were computed for dist/, where the files end up.
const staging = join(root, 'node_modules', '.cache', `nearmesh-dist-${process.pid}`);
await rm(staging, { recursive: true, force: true });
for (const file of outputFiles) {
  const target = join(staging, relative(outdir, file.path));
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, file.contents);
}
for (let attempt = 1; ; attempt++) {
  const old = `${staging}-old-${attempt}`;
  await rename(outdir, old).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  try {
    await rename(staging, outdir);
    await rm(old, { recursive: true, force: true });
    break;
  } catch (err) {
    // Another build put its dist/ in place between our two renames: replace that one too.
    await rm(old, { recursive: true, force: true });
    if (attempt >= 5 || !['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
}
if (!process.argv.includes('--quiet')) console.log(`built dist/ in ${(performance.now() - started).toFixed(0)} ms`);
