import { MeshError, type MeshErrorOptions } from '../core/errors.ts';

/**
 * The store directory holds a store written by an older mesh, on PGlite (`<dir>/pglite`).
 * It cannot be read without PGlite, so it is neither opened nor migrated, and it is left
 * untouched: the person decides whether to keep, export or delete it.
 */
export class LegacyStoreError extends MeshError {
  override readonly name = 'LegacyStoreError';
  readonly code = 'LegacyStore';
  readonly retryable = false;
  /** The store directory. */
  readonly dir: string;
  /** The old data directory inside it. */
  readonly legacyPath: string;

  constructor(dir: string, legacyPath: string, options: MeshErrorOptions = {}) {
    super(
      `the store in ${dir} was written by an older mesh (PGlite); its events and failures are not migrated. ` +
        `Move ${legacyPath} aside (or delete it) to start a new store, ` +
        'or replay or export what you need with the older version first.',
      { ...options, context: { ...options.context, dir, legacyPath } },
    );
    this.dir = dir;
    this.legacyPath = legacyPath;
  }
}
