import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, sourceFiles } from './sourceFiles.ts';

/*
 * The dependency rule of the architecture: the core and the pure folders import no cloud
 * SDK or database client; only adapters do; shared/core imports nothing outside itself.
 */

// node:sqlite is built into Node, but it is a database client all the same: only the store adapter may use it.
const SDK = /^(@aws-sdk\/|@azure\/|@smithy\/|openai$|openai\/|node:sqlite$|better-sqlite3$|pg$|ioredis$|redis$|@aws-lambda-powertools\/)/;

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? '');
}

describe('dependency rule', () => {
  for (const folder of ['shared/core', 'shared/rules', 'shared/placement', 'shared/config', 'shared/oncall']) {
    it(`${folder} imports no cloud SDK or database client`, () => {
      const offenders = sourceFiles(join(ROOT, folder)).flatMap((f) => imports(f).filter((i) => SDK.test(i)).map((i) => `${relative(ROOT, f)} → ${i}`));
      expect(offenders).toEqual([]);
    });
  }

  it('shared/core imports nothing from the other shared folders', () => {
    const offenders = sourceFiles(join(ROOT, 'shared/core')).flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith('.') && !join(f, '..', i).startsWith(join(ROOT, 'shared/core')))
        .map((i) => `${relative(ROOT, f)} → ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  it('only adapter folders import SDKs (shared/models/*, shared/buses/*, shared/store/*)', () => {
    const offenders = sourceFiles(join(ROOT, 'shared')).flatMap((f) => {
      const rel = relative(ROOT, f);
      const isAdapter = /^shared\/(models|buses|store)\/[^/]+\//.test(rel);
      return isAdapter ? [] : imports(f).filter((i) => SDK.test(i)).map((i) => `${rel} → ${i}`);
    });
    expect(offenders).toEqual([]);
  });

  it('detects an SDK import when one is there (the check itself works)', () => {
    expect(SDK.test('@aws-sdk/client-eventbridge')).toBe(true);
    expect(SDK.test('node:sqlite')).toBe(true);
    expect(SDK.test('yaml')).toBe(false);
  });

  /*
   * package.json declares `"sideEffects": false`, so esbuild drops a module whose exports nobody
   * uses even when a barrel re-exports it (that kept the Service Bus publisher in the Lambda's
   * init). An import written for its side effects alone would be dropped silently from the bundles.
   */
  const SIDE_EFFECT_IMPORT = /(?:^|\n)\s*import\s+['"](\.[^'"]*)['"]/g;

  it('imports none of our modules for its side effects alone (package.json says they have none)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { sideEffects?: unknown };
    expect(pkg.sideEffects).toBe(false);
    const offenders = ['shared', 'functions'].flatMap((folder) =>
      sourceFiles(join(ROOT, folder)).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(SIDE_EFFECT_IMPORT)].map((m) => `${relative(ROOT, f)} → ${m[1]}`)),
    );
    expect(offenders).toEqual([]);
  });

  it('detects an import for side effects when one is there (the check itself works)', () => {
    expect("import './register.ts';\nimport { a } from './a.ts';".match(SIDE_EFFECT_IMPORT)).toHaveLength(1);
    expect("import { a } from './a.ts';\nimport type { B } from './b.ts';".match(SIDE_EFFECT_IMPORT)).toBeNull();
  });
});
