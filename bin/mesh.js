#!/usr/bin/env node
// The `mesh` command. It runs the CLI compiled once by `npm run build` (dist/cli/mesh.js, which
// `npm start` and the tests build first): starting it compiles nothing. In a checkout that has
// never been built it runs the TypeScript sources through tsx instead — several times slower to
// start — and says so. A build is not refreshed here: after editing sources, `npm run build`.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const compiled = new URL('../dist/cli/mesh.js', import.meta.url);
if (existsSync(compiled)) {
  // Stack traces point at the TypeScript sources (dist/ keeps a source map beside each file).
  process.setSourceMapsEnabled(true);
  await import(compiled.href);
} else {
  console.error('mesh: no build found (dist/cli/mesh.js); running the TypeScript sources through tsx. `npm run build` compiles once.');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../functions/cli/mesh.ts');
}
