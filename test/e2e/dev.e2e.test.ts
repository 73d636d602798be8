import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultId } from '../../shared/core/index.ts';
import { REPO, runMesh, startDev, type DevProcess } from './devProcess.ts';

/*
 * The whole mesh as a user runs it: `mesh dev` as a child process on a free port with its
 * own store, events sent with the real AWS SDK EventBridge client and over CloudEvents
 * HTTP, results read back through the CLI.
 */

interface LoggedEvent {
  seq: number;
  kind: 'input' | 'result';
  eventId: string;
  routeId?: string;
  destination?: string;
  envelope: { event: { id: string; type: string; source: string; extensions: Record<string, unknown>; data: { result: Record<string, unknown>; provenance: Record<string, unknown> } } };
}

let dev: DevProcess;
let orderDetail: Record<string, unknown>;

/** The admin token mesh dev wrote for the mesh command, beside its store. */
async function adminToken(): Promise<string> {
  return (JSON.parse(await readFile(join(dev.home, 'dev.json'), 'utf8')) as { token: string }).token;
}

async function results(): Promise<LoggedEvent[]> {
  const res = await fetch(`${dev.url}/_mesh/events?kind=result`, { headers: { authorization: `Bearer ${await adminToken()}` } });
  return ((await res.json()) as { events: LoggedEvent[] }).events;
}

beforeAll(async () => {
  const sample = JSON.parse(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8')) as { detail: Record<string, unknown> };
  orderDetail = sample.detail;
  dev = await startDev();
  await dev.waitFor(/Samples done: .*/);
});

afterAll(async () => {
  await dev?.dispose();
});

describe('mesh dev, end to end', () => {
  it('loads the config and routes, and processes every sample: results, a failure and an unmatched event', () => {
    const out = dev.output();
    expect(out).toMatch(/Loaded .*mesh\.yaml: 6 model endpoints/);
    expect(out).toMatch(/Loaded 3 routes from events\/routes/);
    expect(out).toMatch(/✓ order-risk → sim-bedrock-us-east-1 \(tier 0: same cloud and region/);
    expect(out).toMatch(/emitted OrderRiskScored [0-9a-f-]{36} to orders-bus/);
    expect(out).toMatch(/✗ ticket-triage failed: PolicyViolation/);
    expect(out).toMatch(/no route matched/);
    expect(out).toMatch(/Samples done: [1-9]\d* results emitted, 0 duplicates skipped, 1 failed/);
  });

  it('accepts PutEvents from the unmodified AWS SDK and publishes a result with a deterministic id and provenance', async () => {
    // Prepare
    const client = new EventBridgeClient({ endpoint: dev.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    // Act
    const response = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify({ ...orderDetail, orderId: 'ORD-E2E-1', total: 2500 }) },
          { Source: 'com.acme.orders', DetailType: 'OrderShipped', Detail: JSON.stringify({ orderId: 'ORD-E2E-1' }) },
        ],
      }),
    );
    // Assess
    expect(response.FailedEntryCount).toBe(0);
    const [placed, shipped] = response.Entries!.map((e) => e.EventId!);
    const all = await results();
    const mine = all.filter((r) => r.envelope.event.extensions.causationid === placed);
    expect(mine).toHaveLength(1);
    const result = mine[0]!;
    expect(result.eventId).toBe(resultId('order-risk', placed!));
    expect(result.destination).toBe('orders-bus');
    expect(result.envelope.event).toMatchObject({ type: 'OrderRiskScored', source: 'nearmesh.order-risk' });
    expect(result.envelope.event.extensions).toMatchObject({ correlationid: placed, causationid: placed });
    expect(result.envelope.event.data.result).toEqual(expect.objectContaining({ score: expect.any(Number) }));
    expect(result.envelope.event.data.provenance).toMatchObject({ provider: 'simulated', endpoint: 'sim-bedrock-us-east-1', region: 'us-east-1', tier: 0 });
    expect(all.some((r) => r.envelope.event.extensions.causationid === shipped)).toBe(false);
  });

  it('processes the PutEvents entries shown in the README', async () => {
    // The README's AWS CLI example, sent with the SDK: if the snippet rots, this fails.
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const entriesText = /--entries \\\n\s*'(\[.*\])'/.exec(readme)?.[1];
    expect(entriesText, 'README has an `aws events put-events --entries` example').toBeDefined();
    const client = new EventBridgeClient({ endpoint: dev.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const response = await client.send(new PutEventsCommand({ Entries: JSON.parse(entriesText!) as never }));
    expect(response.FailedEntryCount).toBe(0);
    const id = response.Entries![0]!.EventId!;
    expect((await results()).some((r) => r.eventId === resultId('order-risk', id))).toBe(true);
  });

  it('reports a malformed entry as a failed entry and still processes the good one', async () => {
    const client = new EventBridgeClient({ endpoint: dev.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const response = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: '{not json' },
          { Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify({ ...orderDetail, orderId: 'ORD-E2E-2' }) },
        ],
      }),
    );
    expect(response.FailedEntryCount).toBe(1);
    expect(response.Entries![0]).toMatchObject({ ErrorCode: 'InvalidArgument' });
    expect(response.Entries![0]!.ErrorMessage).toContain('Entries[0].Detail: not valid JSON');
    expect(response.Entries![1]!.EventId).toBeTruthy();
  });

  it('yields one result when the same CloudEvent is delivered twice', async () => {
    const invoice = JSON.parse(await readFile(join(REPO, 'events/samples/04-invoice-received.cloudevent.json'), 'utf8')) as Record<string, unknown>;
    const event = { ...invoice, id: 'DOC-E2E-DUP' };
    const post = () =>
      fetch(`${dev.url}/cloudevents`, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(event) }).then(
        (r) => r.json() as Promise<{ outcomes: Array<{ routes: Array<{ status: string; resultId: string }> }> }>,
      );
    const first = await post();
    const second = await post();
    expect(first.outcomes[0]!.routes[0]!.status).toBe('emitted');
    expect(second.outcomes[0]!.routes[0]).toEqual(expect.objectContaining({ status: 'duplicate', resultId: first.outcomes[0]!.routes[0]!.resultId }));
    const dupResults = (await results()).filter((r) => r.envelope.event.extensions.causationid === 'DOC-E2E-DUP');
    expect(dupResults).toHaveLength(1);
  });

  it('accepts a binary-mode CloudEvent', async () => {
    const res = await fetch(`${dev.url}/cloudevents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': 'bin-1', 'ce-source': 'com.acme.orders', 'ce-type': 'OrderPlaced', 'ce-awsregion': 'us-east-1' },
      body: JSON.stringify({ ...orderDetail, orderId: 'ORD-BIN-1' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outcomes: Array<{ routes: Array<{ routeId: string; status: string }> }> };
    expect(body.outcomes[0]!.routes).toEqual([expect.objectContaining({ routeId: 'order-risk', status: 'emitted' })]);
  });

  it('rejects a request that is not a CloudEvent with 415 and a message saying what to send', async () => {
    const res = await fetch(`${dev.url}/cloudevents`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { message: string }).message).toContain('application/cloudevents+json');
  });

  it('answers the CLI through the admin API while it runs', async () => {
    const env = { MESH_HOME: dev.home };
    const events = await runMesh(['events', '--kind', 'result', '--json'], env);
    expect(events.code).toBe(0);
    expect((JSON.parse(events.stdout) as LoggedEvent[]).length).toBeGreaterThanOrEqual(4);
    const failed = await runMesh(['failed', '--json'], env);
    expect(failed.code).toBe(0);
    const failures = JSON.parse(failed.stdout) as Array<{ errorCode: string; routeId: string }>;
    expect(failures).toEqual([expect.objectContaining({ errorCode: 'PolicyViolation', routeId: 'ticket-triage' })]);
  });

  it('keeps the admin API to the holder of its token: 401 without it or with a wrong one, health open, dev.json owner-only', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-token' }] as Record<string, string>[]) {
      const res = await fetch(`${dev.url}/_mesh/failed`, { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { message: string }).message).toMatch(/token .* dev\.json/);
    }
    const replay = await fetch(`${dev.url}/_mesh/replay`, { method: 'POST', body: '{}' });
    expect(replay.status).toBe(401);
    expect((await fetch(`${dev.url}/_mesh/health`)).status).toBe(200);
    expect((await stat(join(dev.home, 'dev.json'))).mode & 0o777).toBe(0o600);
    // The business-event ingress stays open, as for any SDK client.
    expect((await fetch(`${dev.url}/cloudevents`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })).status).toBe(415);
  });

  it('shuts down gracefully on Ctrl-C and keeps everything in the store for the next command', async () => {
    const before = (await results()).length;
    const code = await dev.stop('SIGINT');
    expect(code).toBe(0);
    expect(dev.output()).toContain('mesh dev stopped');
    const after = await runMesh(['events', '--kind', 'result', '--json'], { MESH_HOME: dev.home });
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toHaveLength(before);
    expect(after.stderr).toBe('');
  });
});
