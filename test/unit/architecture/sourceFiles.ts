import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's root, for tests that read its source tree. */
export const ROOT = join(import.meta.dirname, '..', '..', '..');

/** Every TypeScript source file below `dir` (tests and declaration files left out). */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}
