/**
 * What the embedded store costs a process, run by `npm run bench` (or alone:
 * `npx tsx test/bench/storeOpen.ts`): each run is a fresh node process that loads the store
 * module, opens a store in a new empty directory, writes events as the pipeline does (claim,
 * input, result, completion), closes it and opens it again. Memory is the process RSS before
 * the store module was imported and after each step, so the loader's own share is left out.
 * Figures are medians over the runs.
 *
 * Options: BENCH_STORE_RUNS (default 5), BENCH_STORE_EVENTS (default 1000).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const STORE_INDEX = pathToFileURL(join(import.meta.dirname, '../../shared/store/index.ts')).href;

const CHILD = `
const mb = () => process.memoryUsage().rss / 2 ** 20;
const [dir, events] = [process.argv[2], Number(process.argv[3])];
const before = mb();
const { openLocalStore } = await import(${JSON.stringify(STORE_INDEX)});
const imported = mb();
let t = performance.now();
let store = await openLocalStore({ dir });
const openMs = performance.now() - t;
const opened = mb();
const envelope = (id) => ({ event: { specversion: '1.0', id, source: 'bench', type: 'OrderPlaced', data: { orderId: id, total: 42, items: [{ sku: 'SKU-1', quantity: 1 }] } }, origin: { transport: 'http', cloud: 'local' } });
t = performance.now();
for (let i = 0; i < events; i++) {
  const id = 'evt-' + i;
  const claim = await store.idempotency.begin('r:' + id, new Date(Date.now() + 60_000));
  const at = new Date().toISOString();
  await store.events.append({ at, kind: 'input', eventId: id, type: 'OrderPlaced', source: 'bench', envelope: envelope(id) });
  await store.events.append({ at, kind: 'result', eventId: 'res-' + id, type: 'Scored', source: 'bench', routeId: 'r', destination: 'local', envelope: envelope('res-' + id) });
  await store.idempotency.complete('r:' + id, claim.token, 'res-' + id);
}
const perEventUs = ((performance.now() - t) / events) * 1000;
const written = mb();
await store.close();
t = performance.now();
store = await openLocalStore({ dir });
const reopenMs = performance.now() - t;
await store.close();
console.log('STORE ' + JSON.stringify({ openMs, reopenMs, perEventUs, before, imported, opened, written }));
`;

interface Run {
  openMs: number;
  reopenMs: number;
  perEventUs: number;
  before: number;
  imported: number;
  opened: number;
  written: number;
}

function runOnce(script: string, dir: string, events: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, String(events)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('STORE '));
      if (code !== 0 || !line) reject(new Error(`store bench child exited ${code}: ${err}`));
      else resolve(JSON.parse(line.slice(6)) as Run);
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchStoreOpen(): Promise<void> {
  const runs = Number(process.env.BENCH_STORE_RUNS ?? 5);
  const events = Number(process.env.BENCH_STORE_EVENTS ?? 1000);
  const root = await mkdtemp(join(tmpdir(), 'nearmesh-bench-store-'));
  try {
    const script = join(root, 'child.mjs');
    await writeFile(script, CHILD);
    const results: Run[] = [];
    for (let i = 0; i < runs; i++) results.push(await runOnce(script, join(root, `store-${i}`), events));
    const m = (f: (r: Run) => number) => median(results.map(f));
    console.log(`\nembedded store (node:sqlite), fresh process each, median of ${runs} runs:`);
    console.log(`  open a new store          ${m((r) => r.openMs).toFixed(1).padStart(7)} ms`);
    console.log(`  reopen it (${events} events)   ${m((r) => r.reopenMs).toFixed(1).padStart(7)} ms`);
    console.log(`  an event's four writes    ${m((r) => r.perEventUs).toFixed(0).padStart(7)} µs`);
    console.log(
      `  RSS: ${m((r) => r.before).toFixed(0)} MB before the store module, ${m((r) => r.imported).toFixed(0)} MB imported, ` +
        `${m((r) => r.opened).toFixed(0)} MB open, ${m((r) => r.written).toFixed(0)} MB after ${events} events ` +
        `(the store's share: ${m((r) => r.written - r.before).toFixed(0)} MB)`,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchStoreOpen();
