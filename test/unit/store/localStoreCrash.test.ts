import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalStore } from '../../../shared/store/index.ts';

/*
 * What the ingress promises: an event the store acknowledged survives the process being
 * killed. A child process writes events as the pipeline does (claim, input, result,
 * completion) and prints each id once all four writes returned; it is killed with SIGKILL at
 * an arbitrary point, and every id it printed must be in the store when it is reopened. The
 * rounds share one directory, so each one also opens a store whose last writer was killed.
 */

const STORE_INDEX = pathToFileURL(join(import.meta.dirname, '../../../shared/store/index.ts')).href;

const WRITER = `
import { openLocalStore } from ${JSON.stringify(STORE_INDEX)};
const [dir, prefix] = process.argv.slice(2);
const store = await openLocalStore({ dir });
const envelope = (id) => ({ event: { specversion: '1.0', id, source: 'crash.test', type: 'Written', data: { id, text: 'ünïcode ✓' } }, origin: { transport: 'http', cloud: 'local' } });
for (let i = 0; ; i++) {
  const id = prefix + '-' + i;
  const key = 'route:' + id;
  const claim = await store.idempotency.begin(key, new Date(Date.now() + 60_000));
  if (claim.state !== 'claimed') throw new Error('expected to claim ' + key);
  const at = new Date().toISOString();
  await store.events.append({ at, kind: 'input', eventId: id, type: 'Written', source: 'crash.test', envelope: envelope(id) });
  await store.events.append({ at, kind: 'result', eventId: 'result-' + id, type: 'Result', source: 'crash.test', routeId: 'route', destination: 'local', envelope: envelope('result-' + id) });
  await store.idempotency.complete(key, claim.token, 'result-' + id);
  process.stdout.write(id + '\\n');
}
`;

// As the pipeline writes under mesh dev: each event one unit of work whose transaction stays open
// across a wait (the model call), eight events in flight sharing commits, an id printed only once
// its unit resolved (what the ingress waits for before it answers).
const UNIT_WRITER = `
import { openLocalStore } from ${JSON.stringify(STORE_INDEX)};
const [dir, prefix] = process.argv.slice(2);
const store = await openLocalStore({ dir });
const envelope = (id) => ({ event: { specversion: '1.0', id, source: 'crash.test', type: 'Written', data: { id } }, origin: { transport: 'http', cloud: 'local' } });
let next = 0;
const one = async (id) => {
  const key = 'route:' + id;
  await store.unitOfWork(async () => {
    await store.events.append({ at: new Date().toISOString(), kind: 'input', eventId: id, type: 'Written', source: 'crash.test', envelope: envelope(id) });
    const claim = await store.idempotency.begin(key, new Date(Date.now() + 60_000));
    if (claim.state !== 'claimed') throw new Error('expected to claim ' + key);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 3)));
    await store.events.append({ at: new Date().toISOString(), kind: 'result', eventId: 'result-' + id, type: 'Result', source: 'crash.test', routeId: 'route', destination: 'local', envelope: envelope('result-' + id) });
    await store.idempotency.complete(key, claim.token, 'result-' + id);
  });
  process.stdout.write(id + '\\n');
};
await Promise.all(Array.from({ length: 8 }, async () => {
  for (;;) await one(prefix + '-' + next++);
}));
`;

interface Round {
  acknowledged: string[];
  signal: NodeJS.Signals | null;
}

/** Runs the writer until it has acknowledged `killAfter` events, then kills it with SIGKILL. */
function writeUntilKilled(script: string, dir: string, prefix: string, killAfter: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const complete = () => stdout.split('\n').slice(0, -1); // a line without its newline was not fully printed
    const guard = setTimeout(() => child.kill('SIGKILL'), 12_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (complete().length >= killAfter) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(guard);
      if (complete().length < killAfter) reject(new Error(`the writer stopped after ${complete().length} events: ${stderr}`));
      else resolve({ acknowledged: complete(), signal });
    });
  });
}

describe('embedded store after a crash', () => {
  let root = '';
  let script = '';
  let unitScript = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nearmesh-crash-'));
    script = join(root, 'writer.mjs');
    await writeFile(script, WRITER);
    unitScript = join(root, 'unit-writer.mjs');
    await writeFile(unitScript, UNIT_WRITER);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('keeps every event it acknowledged when the writing process is killed with SIGKILL, round after round', { timeout: 20_000 }, () => killRounds(script, join(root, 'store')));

  it('keeps every unit of work it acknowledged, eight in flight with transactions open across waits, when killed with SIGKILL', { timeout: 20_000 }, () =>
    killRounds(unitScript, join(root, 'unit-store')));

  async function killRounds(writer: string, dir: string): Promise<void> {
    const acknowledged: string[] = [];

    for (const [round, killAfter] of [37, 211, 5].entries()) {
      // Act: write until killed mid-loop.
      const { acknowledged: ids, signal } = await writeUntilKilled(writer, dir, `r${round}`, killAfter);
      acknowledged.push(...ids);

      // Assess: reopen (taking over the dead writer's lock) and find everything acknowledged.
      expect(signal).toBe('SIGKILL');
      const store = await openLocalStore({ dir });
      try {
        const events = await store.events.listEvents();
        const inputs = new Set(events.filter((e) => e.kind === 'input').map((e) => e.eventId));
        const results = new Set(events.filter((e) => e.kind === 'result').map((e) => e.eventId));
        expect(acknowledged.filter((id) => !inputs.has(id))).toEqual([]);
        expect(acknowledged.filter((id) => !results.has(`result-${id}`))).toEqual([]);
        for (const id of acknowledged) expect(await store.idempotency.peek(`route:${id}`)).toEqual({ state: 'completed', resultId: `result-${id}` });
        // The log is whole: numbered in order, nothing twice, every entry readable.
        const seqs = events.map((e) => e.seq!);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(new Set(seqs).size).toBe(seqs.length);
        expect(events.every((e) => e.envelope.event.id === e.eventId)).toBe(true);
      } finally {
        await store.close();
      }
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(37 + 211 + 5);
  }
});
