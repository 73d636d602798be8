import { Worker } from 'node:worker_threads';

/**
 * Checkpoints the write-ahead log from a worker thread, so the event loop that serves events
 * does not. In WAL mode a commit only appends to the log; a checkpoint copies the logged pages
 * into the database file and fsyncs both, and SQLite runs one inside the commit that pushes the
 * log past `wal_autocheckpoint` pages. In `mesh dev` that was up to half of the store's time
 * per event, all of it blocking the event loop (an fsync waits for the disk).
 *
 * The worker holds its own connection and runs a PASSIVE checkpoint every `intervalMs`: it
 * copies what no reader still needs and never waits for, or blocks, the writer. The writer's
 * own automatic checkpoint stays on, at `WRITER_CHECKPOINT_PAGES`, as the backstop that bounds
 * the log: by then the worker has copied nearly everything, so it is short, and it lets SQLite
 * start the log again from the top. The worker's code is a string (no file to ship beside the
 * bundle) and does nothing but checkpoint; its failures are ignored, since the writer's
 * checkpoint still does the work without it.
 */
export interface Checkpointer {
  /** Stops the worker and closes its connection (before the writer closes and removes the log). */
  stop(): Promise<void>;
}

/** The writer's automatic checkpoint when a worker checkpoints (SQLite's default is 1,000 pages). */
export const WRITER_CHECKPOINT_PAGES = 4_000;

const WORKER = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
const db = new DatabaseSync(workerData.file, { timeout: 0 });
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
  try { checkpoint.get(); } catch {}
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
`;

export function startCheckpointer(file: string, intervalMs = 200): Checkpointer {
  const worker = new Worker(WORKER, { eval: true, workerData: { file, intervalMs } });
  // A worker that fails leaves the checkpoints to the writer; it must never take the mesh down.
  worker.on('error', () => {});
  worker.unref();
  let stopped: Promise<void> | undefined;
  return {
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        // Unreferenced, the worker would not keep the process alive until it has closed its connection.
        worker.ref();
        worker.postMessage('stop');
        // A worker stuck in a checkpoint for long is not waited for.
        setTimeout(() => void worker.terminate(), 2_000).unref();
      })),
  };
}
