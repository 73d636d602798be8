import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MeshError } from '../../../shared/core/errors.ts';
import { ROOT, sourceFiles } from '../architecture/sourceFiles.ts';

/*
 * Every MeshError writes its class's name out (`override readonly name = 'ConfigError'`): the
 * Lambda bundle is minified without keeping names, so a name read from the class at run time
 * would be the minifier's. The compiler makes each class declare one; this checks each says the
 * truth (a copied class keeping its model's name would log, store and print the wrong error).
 */

/** An instance, whatever the constructor's arguments: a message, or a list of issues (ConfigError). */
function instanceOf(ErrorClass: new (...args: never[]) => MeshError): MeshError {
  const construct = ErrorClass as unknown as new (...args: unknown[]) => MeshError;
  try {
    return new construct('probe', {});
  } catch {
    return new construct([], {});
  }
}

describe('error names', () => {
  it('names every MeshError class after itself, in the code that ships', async () => {
    const files = ['shared', 'functions'].flatMap((folder) => sourceFiles(join(ROOT, folder))).filter((f) => /extends \w+Error \{/.test(readFileSync(f, 'utf8')));
    const wrong: string[] = [];
    let checked = 0;
    for (const file of files) {
      const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      for (const value of Object.values(exports)) {
        if (typeof value !== 'function' || !(value.prototype instanceof MeshError)) continue;
        checked++;
        const name = instanceOf(value as new () => MeshError).name;
        if (name !== value.name) wrong.push(`${relative(ROOT, file)}: ${value.name} is named ${JSON.stringify(name)}`);
      }
    }

    expect(wrong).toEqual([]);
    // Every class the search should find (43 when written): an empty search would pass the check above.
    expect(checked).toBeGreaterThanOrEqual(40);
  });
});
