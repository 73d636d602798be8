import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { REPO, runMesh } from './devProcess.ts';

/*
 * A fault storm and the replay after it, with the real CLI and embedded store: 20 orders fail
 * while every endpoint errors; a replay chosen by --where runs only the matching events (a dry
 * run shows how many and where each would go first); a replay with the faults still on does not
 * starve itself — it waits for the circuits' cool-down within --max-wait, then stops saying which
 * endpoint is down, and the events it did not try keep their history as it was.
 */

let dir: string;
let env: Record<string, string>;
let faulty: string;
let files: string[];

interface Failure {
  id: string;
  eventId: string;
  routeId: string;
  status: string;
  replays?: Array<{ outcome: string }>;
}
interface Outcome {
  failureId: string;
  outcome: string;
  endpoint?: string;
  detail: string;
}

const json = <T>(text: string): T => JSON.parse(text) as T;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-replay-filters-'));
  env = { MESH_HOME: join(dir, 'home') };
  const doc = parse(await readFile(join(REPO, 'mesh.yaml'), 'utf8')) as { models: Array<{ simulated?: Record<string, unknown> }>; placement?: Record<string, unknown> };
  for (const m of doc.models) m.simulated = { ...m.simulated, latencyMs: 1, faults: { error: 1 } };
  // Short cool-downs keep the test quick; the behaviour is the same at 30 s.
  doc.placement = { ...doc.placement, circuit: { failures: 3, windowMs: 60_000, cooldownMs: 1_500 } };
  faulty = join(dir, 'mesh.faulty.yaml');
  await writeFile(faulty, stringify(doc));
  const sample = json<{ id: string; detail: { orderId: string; total: number; customer: { tier: string } } }>(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8'));
  files = [];
  for (let i = 0; i < 20; i++) {
    const file = join(dir, `order-${i}.json`);
    const event = { ...sample, id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, detail: { ...sample.detail, orderId: `ORD-${i}`, total: 10 + i, customer: { ...sample.detail.customer, tier: i % 2 === 0 ? 'gold' : 'regular' } } };
    await writeFile(file, JSON.stringify(event));
    files.push(file);
  }
  const storm = await runMesh(['emit', ...files, '--config', faulty], env);
  expect(storm.code).toBe(1);
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mesh replay --where', () => {
  it('dry run counts the matching events and says where each would be placed, before anything runs', async () => {
    const r = await runMesh(['replay', '--where', 'detail.customer.tier=gold', '--dry-run', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const { outcomes, summary } = json<{ outcomes: Outcome[]; summary: Record<string, number> }>(r.stdout);
    expect(summary['would-replay']).toBe(10);
    expect(outcomes.every((o) => o.outcome === 'would-replay' && o.endpoint === 'sim-bedrock-us-east-1')).toBe(true);
    const text = await runMesh(['replay', '--where', 'detail.customer.tier=gold', '--dry-run'], env);
    expect(text.stdout).toMatch(/Dry run of 10: 10 would replay, 0 would be skipped\. Nothing was changed/);
    const failures = json<Failure[]>((await runMesh(['failed', '--json'], env)).stdout);
    expect(failures.filter((f) => f.status === 'open')).toHaveLength(20);
  }, 120_000);

  it('ANDs several --where, the value read as JSON when it parses', async () => {
    const r = await runMesh(['replay', '--where', 'detail.customer.tier=gold', '--where', 'detail.total=14', '--dry-run', '--json'], env);
    const { outcomes } = json<{ outcomes: Outcome[] }>(r.stdout);
    expect(outcomes).toHaveLength(1);
    const none = await runMesh(['replay', '--where', 'detail.total="14"', '--dry-run', '--json'], env);
    expect(none.stdout).toContain('Nothing to replay');
    const bad = await runMesh(['replay', '--where', 'detail.total', '--dry-run'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected <path>=<value>/);
  }, 120_000);
});

describe('mesh replay after a fault storm, faults still on', () => {
  it('waits for the cool-down within --max-wait, then stops naming the endpoint, leaving the rest untried and unmarked', async () => {
    const r = await runMesh(['replay', '--all', '--yes', '--max-wait', '2s', '--config', faulty, '--json'], env);
    expect(r.code).toBe(1);
    const out = json<{ outcomes: Outcome[]; stopped: string; untried: number }>(r.stdout);
    expect(out.stopped).toMatch(/endpoint .*sim-bedrock-us-east-1.* is down: circuit open until .* past --max-wait 2 s/);
    expect(r.stderr).toMatch(/waiting \d+ s for the circuit of .* to close/);
    const failedAgain = out.outcomes.filter((o) => o.outcome === 'failed-again');
    // Each failed-again made model calls (three failures open the circuit); never 19 of 20 refused.
    expect(failedAgain.length).toBeLessThanOrEqual(4);
    expect(failedAgain.every((o) => o.endpoint !== undefined)).toBe(true);
    expect(out.untried).toBeGreaterThanOrEqual(14);
    const failures = json<Failure[]>((await runMesh(['failed', '--json'], env)).stdout);
    const replayed = new Set(failedAgain.map((o) => o.failureId));
    const untouched = failures.filter((f) => !replayed.has(f.id));
    expect(untouched.length).toBeGreaterThanOrEqual(16);
    for (const f of untouched) expect(f.replays ?? []).toEqual([]);
  }, 120_000);
});
