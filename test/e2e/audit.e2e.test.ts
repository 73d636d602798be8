import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runMesh, startDev, type DevProcess } from './devProcess.ts';

/*
 * The audit trail as a user meets it: `mesh dev` processes an order sent with the AWS SDK,
 * then `mesh audit` lists the model invocation from the embedded store — who was called,
 * where the data was said to live and by whom, what it cost — and nothing of the order.
 */

interface Audited {
  at: string;
  routeId: string;
  eventId: string;
  endpoint: string;
  dataLocation: string;
  dataLocationSource: string;
  outcome: string;
  [field: string]: unknown;
}

let dev: DevProcess;
let placed = '';
const ORDER_ID = 'ORD-AUDIT-7731';

beforeAll(async () => {
  const sample = JSON.parse(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8')) as { detail: Record<string, unknown> };
  dev = await startDev(['--skip-samples']);
  const client = new EventBridgeClient({ endpoint: dev.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const response = await client.send(
    new PutEventsCommand({ Entries: [{ Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify({ ...sample.detail, orderId: ORDER_ID }) }] }),
  );
  placed = response.Entries![0]!.EventId!;
  client.destroy();
  // The store admits one process: mesh audit reads it once mesh dev has let go.
  await dev.stop();
}, 90_000);

afterAll(async () => {
  await dev?.dispose();
});

const audit = (...args: string[]) => runMesh(['audit', ...args], { MESH_HOME: dev.home });

describe('mesh audit, end to end', () => {
  it('lists the model invocation of an event sent to mesh dev, with the data location’s source and no event content', async () => {
    // Act
    const r = await audit('--json');
    // Assess
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const entries = JSON.parse(r.stdout) as Audited[];
    const mine = entries.filter((e) => e.eventId === placed);
    expect(mine).toEqual([
      expect.objectContaining({
        routeId: 'order-risk',
        endpoint: 'sim-bedrock-us-east-1',
        provider: 'simulated',
        region: 'us-east-1',
        attempt: 1,
        dataLocation: 'aws:us-east-1',
        dataLocationSource: 'route',
        classification: 'internal',
        outcome: 'ok',
        errorCode: null,
        tokens: { input: expect.any(Number), output: expect.any(Number) },
        costUsd: expect.any(Number),
        latencyMs: expect.any(Number),
      }),
    ]);
    expect(r.stdout).not.toContain(ORDER_ID);
    expect(r.stdout).not.toContain('MUG-CER-350');
  });

  it('filters by route, since and limit, and prints a table without --json', async () => {
    const other = await audit('--route', 'ticket-triage', '--json');
    const future = await audit('--since', '2999-01-01T00:00:00Z', '--json');
    const recent = await audit('--since', '1h', '--limit', '1', '--json');
    const text = await audit('--route', 'order-risk');
    expect(JSON.parse(other.stdout)).toEqual([]);
    expect(JSON.parse(future.stdout)).toEqual([]);
    expect((JSON.parse(recent.stdout) as Audited[]).map((e) => e.eventId)).toEqual([placed]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^at\s+route\s+event\s+endpoint/);
    expect(text.stdout).toContain(`order-risk  ${placed}  sim-bedrock-us-east-1`);
    expect(text.stdout).toContain('aws:us-east-1 (route)');
  });

  it('refuses a --since it cannot read, with an example', async () => {
    const r = await audit('--since', 'yesterday');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--since: expected an ISO 8601 time like .* or a duration like 90m/);
  });
});

describe('mesh audit while mesh dev runs', () => {
  it('lists the trail through mesh dev’s admin API (which holds the store), with the same filters', async () => {
    // Prepare: a mesh dev on the same store, one more order through it
    const running = await startDev(['--skip-samples'], { MESH_HOME: dev.home });
    try {
      const client = new EventBridgeClient({ endpoint: running.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      const sample = JSON.parse(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8')) as { detail: Record<string, unknown> };
      const sent = await client.send(new PutEventsCommand({ Entries: [{ Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify(sample.detail) }] }));
      client.destroy();
      const second = sent.Entries![0]!.EventId!;
      // Act
      const all = await audit('--json');
      const newest = await audit('--route', 'order-risk', '--limit', '1', '--json');
      const text = await audit();
      // Assess
      expect(all.stderr).toBe('');
      expect(all.code).toBe(0);
      expect((JSON.parse(all.stdout) as Audited[]).map((e) => e.eventId)).toEqual([second, placed]);
      expect((JSON.parse(newest.stdout) as Audited[]).map((e) => e.eventId)).toEqual([second]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`order-risk  ${second}  sim-bedrock-us-east-1`);
    } finally {
      await running.stop();
    }
  }, 60_000);
});
