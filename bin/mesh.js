#!/usr/bin/env node
// The `mesh` command. It runs the CLI compiled once by `npm run build` (dist/cli/mesh.js, which
// `npm start` and the tests build first): starting it compiles nothing. In a checkout that has
// never been built it runs the TypeScript sources through tsx instead — several times slower to
// start — and says so. A build is not refreshed here: after editing sources, `npm run build`.
//
// Start-up is kept short: `node:fs` is taken with process.getBuiltinModule, since importing a
// builtin as an ES module builds its facade, which loads every lazy part of it (all of
// node:stream, for fs). Source maps are enabled for `mesh dev`, whose logs outlive the start;
// a short command does not read and parse a map per module for a stack trace it will rarely
// print (NODE_OPTIONS=--enable-source-maps gives them to every command).
const { existsSync } = process.getBuiltinModule('node:fs');

const compiled = new globalThis.URL('../dist/cli/mesh.js', import.meta.url);
if (existsSync(compiled)) {
  // Stack traces point at the TypeScript sources (dist/ keeps a source map beside each file).
  if (process.argv[2] === 'dev') process.setSourceMapsEnabled(true);
  await import(compiled.href);
} else {
  console.error('mesh: no build found (dist/cli/mesh.js); running the TypeScript sources through tsx. `npm run build` compiles once.');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../functions/cli/mesh.ts');
}
