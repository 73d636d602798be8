import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { REPO, runMesh } from './devProcess.ts';

/*
 * The on-call story, end to end with the real CLI and embedded store: every model endpoint
 * is down, events land in the failure ledger; the endpoints come back; a replay that is
 * killed half way and run again leaves every event with exactly one result and every
 * failure resolved, with its history.
 */

const SAMPLES = ['01-order-placed.eventbridge.json', '03-ticket-opened.servicebus.json', '04-invoice-received.cloudevent.json'].map((f) => `events/samples/${f}`);

let dir: string;
let env: Record<string, string>;
let faultyConfig: string;

interface Failure {
  id: string;
  eventId: string;
  routeId: string;
  errorCode: string;
  status: string;
}

const json = <T>(text: string): T => JSON.parse(text) as T;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-replay-'));
  env = { MESH_HOME: join(dir, 'home') };
  // The repository's catalogue with every endpoint failing every call.
  const doc = parse(await readFile(join(REPO, 'mesh.yaml'), 'utf8')) as { models: Array<{ simulated?: Record<string, unknown> }> };
  for (const m of doc.models) m.simulated = { ...m.simulated, latencyMs: 1, faults: { error: 1 } };
  faultyConfig = join(dir, 'mesh.faulty.yaml');
  await writeFile(faultyConfig, stringify(doc));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('failed events, replayed', () => {
  it('records every event in the ledger while the endpoints are down', async () => {
    const r = await runMesh(['emit', ...SAMPLES, '--config', faultyConfig, '--routes', 'events/routes'], env);
    expect(r.code).toBe(1);
    const failures = json<Failure[]>((await runMesh(['failed', '--json'], env)).stdout);
    expect(failures.map((f) => f.routeId).sort()).toEqual(['invoice-extract', 'order-risk', 'ticket-triage']);
    expect(new Set(failures.map((f) => f.errorCode))).toEqual(new Set(['ModelUnavailable']));
  }, 120_000);

  it('dry run says where each would run now and changes nothing', async () => {
    const r = await runMesh(['replay', '--all', '--dry-run', '--json'], env);
    expect(r.code).toBe(0);
    const { outcomes } = json<{ outcomes: Array<{ outcome: string; endpoint: string }> }>(r.stdout);
    expect(outcomes.map((o) => o.outcome)).toEqual(['would-replay', 'would-replay', 'would-replay']);
    expect(outcomes.map((o) => o.endpoint).sort()).toEqual(['sim-azure-westeurope', 'sim-azure-westeurope', 'sim-bedrock-us-east-1']);
    const failures = json<Failure[]>((await runMesh(['failed', '--json'], env)).stdout);
    expect(failures.every((f) => f.status === 'open')).toBe(true);
  }, 120_000);

  it('survives being killed mid-replay: the rerun leaves exactly one result per event and every failure resolved', async () => {
    // Act: a slow replay (1 event/s) killed right after its first event, then a full one
    const killed = await runMesh(['replay', '--all', '--yes', '--rate', '1', '--actor', 'night-shift'], env, { killWhen: /\[1\/3\]/ });
    expect(killed.code).toBeNull();
    const midway = json<Failure[]>((await runMesh(['failed', '--status', 'all', '--json'], env)).stdout);
    expect(midway.map((f) => f.status).sort()).toEqual(['open', 'open', 'resolved']);
    const rerun = await runMesh(['replay', '--all', '--yes', '--actor', 'night-shift', '--json'], env);
    // Assess
    expect(rerun.code, rerun.stderr).toBe(0);
    const results = json<Array<{ envelope: { event: { extensions: { causationid: string } } } }>>((await runMesh(['events', '--kind', 'result', '--json'], env)).stdout);
    const perInput = new Map<string, number>();
    for (const r of results) perInput.set(r.envelope.event.extensions.causationid, (perInput.get(r.envelope.event.extensions.causationid) ?? 0) + 1);
    expect([...perInput.values()]).toEqual([1, 1, 1]);

    const all = json<Failure[]>((await runMesh(['failed', '--status', 'all', '--json'], env)).stdout);
    expect(all.map((f) => f.status)).toEqual(['resolved', 'resolved', 'resolved']);
    const shown = await runMesh(['failed', 'show', all[0]!.id], env);
    expect(shown.stdout).toMatch(/by night-shift: succeeded/);

    const again = await runMesh(['replay', '--all', '--yes', '--json'], env);
    expect(again.stdout).toContain('Nothing to replay');
  }, 180_000);
});
