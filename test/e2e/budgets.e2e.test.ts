import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterWindow, usageKeys } from '../../shared/core/index.ts';
import type { AuditTrail } from '../../shared/core/ports/AuditLog.ts';
import { createLocalMesh, DevServer, type LocalMesh } from '../../shared/runtime/index.ts';
import { memoryCounters } from '../../shared/store/memory/index.ts';
import { writeDevInfo } from '../../functions/cli/devClient.ts';
import { FakeClock } from '../fakes/fakeClock.ts';
import { REPO, runMesh } from './devProcess.ts';

/*
 * Budgets and rate limits through mesh dev's composition: createLocalMesh around the one
 * pipeline, its DevServer ingress fed by the real AWS SDK PutEvents client, and `mesh explain`
 * run as a user runs it (bin/mesh.js), reading the use through the running dev's admin API.
 * The embedded store keeps no usage counters yet, so the mesh is given in-memory ones (the
 * option every edge has); the clock is fixed so that every event falls in one minute.
 */

const MESH_YAML = `
models:
  - { id: sim-us-east-1, provider: simulated, cloud: aws, region: us-east-1, price: { input: 1, output: 2 }, limits: { rpm: 1 }, simulated: { latencyMs: 0 } }
  - { id: sim-us-west-2, provider: simulated, cloud: aws, region: us-west-2, simulated: { latencyMs: 0 } }
  - { id: sim-eu-central-1, provider: simulated, cloud: aws, region: eu-central-1, simulated: { latencyMs: 0 } }
residency:
  internal: same-geography
destinations:
  orders-bus: { kind: local }
`;

const TOKEN = 'budgets-e2e-token';
let dir: string;
let home: string;
let mesh: LocalMesh;
let server: DevServer;
let url: string;
let client: EventBridgeClient;
const clock = new FakeClock('2026-11-22T08:00:10.000Z');
const counters = memoryCounters(clock);
let detail: Record<string, unknown>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-budgets-'));
  home = join(dir, '.mesh');
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  const route = await readFile(join(REPO, 'events', 'routes', 'order-risk.yaml'), 'utf8');
  await writeFile(join(dir, 'events', 'routes', 'order-risk.yaml'), route.replace('  attemptsPerEndpoint: 2\n', '  attemptsPerEndpoint: 2\n  budget: { tokens: 100000, per: hour }\n'));
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  detail = (JSON.parse(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8')) as { detail: Record<string, unknown> }).detail;

  mesh = await createLocalMesh({ configFile: join(dir, 'mesh.yaml'), routesDir: join(dir, 'events', 'routes'), home, clock, counters });
  server = new DevServer({ mesh, port: 0, clock, adminToken: TOKEN });
  const port = await server.listen();
  url = `http://127.0.0.1:${port}`;
  // What mesh dev writes so that other mesh commands go through it.
  await writeDevInfo(home, { pid: process.pid, port, url, startedAt: clock.now().toISOString(), token: TOKEN });
  client = new EventBridgeClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
  await mesh?.close();
  await rm(dir, { recursive: true, force: true });
});

async function putOrder(orderId: string): Promise<string> {
  const res = await client.send(new PutEventsCommand({ Entries: [{ Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify({ ...detail, orderId }) }] }));
  expect(res.FailedEntryCount).toBe(0);
  return res.Entries![0]!.EventId!;
}

/** The local store's audit trail: one entry per model call attempt. */
const audit = () => (mesh.store as unknown as { audit: AuditTrail }).audit;

async function resultFor(eventId: string) {
  const results = await mesh.store.events.listEvents({ kind: 'result' });
  return results.find((r) => r.envelope.event.extensions.causationid === eventId);
}

describe('budgets and rate limits through mesh dev', () => {
  it('serves the first order from the nearest endpoint and spills the next over to the next allowed one once it is at its rpm, never to a forbidden one', async () => {
    const first = await putOrder('ORD-B-1');
    const second = await putOrder('ORD-B-2');

    const a = await resultFor(first);
    const b = await resultFor(second);
    expect(a!.envelope.event.extensions.meshendpoint).toBe('sim-us-east-1');
    expect(b!.envelope.event.extensions.meshendpoint).toBe('sim-us-west-2');
    expect((b!.envelope.event.data as { provenance: Record<string, unknown> }).provenance).toMatchObject({
      attempts: 2,
      rateLimited: ['sim-us-east-1: rpm 1 used in this minute, resets at 2026-11-22T08:01:00.000Z'],
    });
    expect((a!.envelope.event.data as { provenance: Record<string, unknown> }).provenance.rateLimited).toBeUndefined();
    const audited = await audit().listAudit({});
    expect(audited.map((e) => e.endpoint).sort()).toEqual(['sim-us-east-1', 'sim-us-west-2']);
  });

  it('mesh explain shows the budget and the exhausted endpoint with its reset time, read from the running mesh dev', async () => {
    const event = join(dir, 'order.json');
    await writeFile(event, JSON.stringify({ 'detail-type': 'OrderPlaced', source: 'com.acme.orders', id: 'explain-1', region: 'us-east-1', account: '1', time: '2026-11-22T08:00:00Z', resources: [], version: '0', detail }));
    const env = { MESH_HOME: home, MESH_CONFIG: join(dir, 'mesh.yaml'), MESH_ROUTES_DIR: join(dir, 'events', 'routes') };

    const text = await runMesh(['explain', '--event', event], env);
    const json = await runMesh(['explain', '--event', event, '--json'], env);

    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/budget {3}tokens \d+ of 100000 per hour, resets at 2026-11-22T09:00:00.000Z/);
    expect(text.stdout).toContain('limits   sim-us-east-1: rpm 1 of 1 per minute — exhausted until 2026-11-22T08:01:00.000Z');
    const [routeJson] = (JSON.parse(json.stdout) as { routes: Array<Record<string, unknown>> }).routes;
    expect(routeJson).toMatchObject({
      route: 'order-risk',
      budget: [{ what: 'tokens', limit: 100000, per: 'hour', exhausted: false }],
      limits: { 'sim-us-east-1': [{ what: 'rpm', used: 1, limit: 1, per: 'minute', resetsAt: '2026-11-22T08:01:00.000Z', exhausted: true }] },
    });
  });

  it('keeps an order over the route budget as a BudgetExceeded failure with its event, and calls no model', async () => {
    await counters.adjust(usageKeys.budgetTokens('order-risk'), counterWindow('hour', clock.now().getTime()), 100_000);
    const before = (await audit().listAudit({})).length;

    const eventId = await putOrder('ORD-B-3');

    const failures = await mesh.store.failures.listFailures({ errorCode: 'BudgetExceeded' });
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ eventId, routeId: 'order-risk', retryable: true, status: 'open', attempts: [] });
    expect(failures[0]!.message).toMatch(/over its budget.*no model call was made.*resets at 2026-11-22T09:00:00.000Z/);
    expect(failures[0]!.envelope.event.id).toBe(eventId);
    expect(await resultFor(eventId)).toBeUndefined();
    expect((await audit().listAudit({})).length).toBe(before);
  });

  it('replays the kept order with mesh replay once the budget window has reset', async () => {
    const [failure] = await mesh.store.failures.listFailures({ errorCode: 'BudgetExceeded', status: 'open' });
    const env = { MESH_HOME: home, MESH_CONFIG: join(dir, 'mesh.yaml'), MESH_ROUTES_DIR: join(dir, 'events', 'routes') };
    const early = await runMesh(['replay', failure!.id, '--json'], env);
    clock.advance(3_600_000);

    const later = await runMesh(['replay', failure!.id, '--json'], env);

    expect(early.stdout).toMatch(/"outcome": "failed-again"/);
    expect(later.stdout).toMatch(/"outcome": "succeeded"/);
    expect(await resultFor(failure!.eventId)).toBeDefined();
    expect((await mesh.store.failures.getFailure(failure!.id))!.status).toBe('resolved');
  });
});
