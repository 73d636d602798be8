import { MeshError, type MeshErrorOptions } from '../core/errors.ts';

/**
 * The embedded store admits one process per directory, and another process holds it.
 * Usually a `mesh dev` that is still running; retrying will not help until it stops.
 */
export class StoreLockedError extends MeshError {
  override readonly name = 'StoreLockedError';
  readonly code = 'StoreLocked';
  readonly retryable = false;
  /** The store directory that is in use. */
  readonly dir: string;
  /** The process holding it, when the lock file says. */
  readonly pid: number | undefined;

  constructor(dir: string, pid: number | undefined, options: MeshErrorOptions = {}) {
    const holder = pid === undefined ? 'another process' : pid === process.pid ? `this process (pid ${pid})` : `process ${pid}`;
    super(
      `the store in ${dir} is already open by ${holder}; is \`mesh dev\` running? ` +
        'Stop it, run the command through it, or set MESH_HOME to another directory.',
      { ...options, context: { ...options.context, dir, ...(pid === undefined ? {} : { pid }) } },
    );
    this.dir = dir;
    this.pid = pid;
  }
}
