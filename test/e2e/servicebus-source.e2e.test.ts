import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceBusClient, type ServiceBusMessage } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startServiceBusPeer, type ServiceBusPeer } from '../fakes/serviceBusPeer.ts';
import { REPO, runMesh } from './devProcess.ts';

/*
 * Service Bus dead-letter subqueues as an on-call source, through the real CLI and the real
 * @azure/service-bus client against the AMQP test peer: listing settles nothing, a replay
 * completes a message only after its event is done and abandons it otherwise.
 */

const SLOW = 120_000;
const NS = 'acme-support';

let dir: string;
let env: Record<string, string>;
let peer: ServiceBusPeer;
let client: ServiceBusClient;
let faultyConfig: string;
let sample: { messageId: string; subject: string; contentType: string; applicationProperties: Record<string, string>; body: Record<string, unknown> };

interface Outcome {
  messageId: string;
  eventId?: string;
  outcome: string;
  queue: string;
  detail: string;
}

const json = <T>(text: string): T => JSON.parse(text) as T;

/** The sample ticket as a Service Bus message, with its own event id. */
function ticket(eventId: string): ServiceBusMessage {
  return {
    messageId: `msg-${eventId}`,
    subject: sample.subject,
    contentType: sample.contentType,
    applicationProperties: { ...sample.applicationProperties, 'cloudEvents:id': eventId },
    body: sample.body,
  };
}

/** Put messages on `<entity>/$DeadLetterQueue` as the function does: receive peek-lock, then dead-letter with the mesh error. */
async function deadLetter(topicOrQueue: string, messages: ServiceBusMessage[], subscription?: string): Promise<void> {
  const sender = client.createSender(topicOrQueue);
  const receiver = subscription ? client.createReceiver(topicOrQueue, subscription) : client.createReceiver(topicOrQueue);
  try {
    await sender.sendMessages(messages);
    let done = 0;
    while (done < messages.length) {
      for (const m of await receiver.receiveMessages(messages.length - done, { maxWaitTimeInMs: 2_000 })) {
        await receiver.deadLetterMessage(m, { deadLetterReason: 'ModelsExhausted', deadLetterErrorDescription: 'every allowed endpoint failed: sim-azure-westeurope answered 503' });
        done++;
      }
    }
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
}

async function resultsFor(eventId: string): Promise<number> {
  const results = json<Array<{ envelope: { event: { extensions: { causationid?: string } } } }>>((await runMesh(['events', '--kind', 'result', '--json'], env)).stdout);
  return results.filter((r) => r.envelope.event.extensions.causationid === eventId).length;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-sb-source-'));
  peer = await startServiceBusPeer({ topics: { orders: ['mesh'] } });
  client = new ServiceBusClient(peer.connectionString);
  env = { MESH_HOME: join(dir, 'home'), [`MESH_SERVICEBUS_ACME_SUPPORT_CONNECTION`]: peer.connectionString };
  sample = json(await readFile(join(REPO, 'events/samples/03-ticket-opened.servicebus.json'), 'utf8'));
  const doc = parse(await readFile(join(REPO, 'mesh.yaml'), 'utf8')) as { models: Array<{ simulated?: Record<string, unknown> }> };
  for (const m of doc.models) m.simulated = { ...m.simulated, latencyMs: 1, faults: { error: 1 } };
  faultyConfig = join(dir, 'mesh.faulty.yaml');
  await writeFile(faultyConfig, stringify(doc));
});

afterAll(async () => {
  await client?.close();
  await peer?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('mesh failed --source servicebus:', () => {
  const source = `servicebus:${NS}/orders/Subscriptions/mesh`;
  const dlq = 'orders/Subscriptions/mesh/$DeadLetterQueue';

  beforeAll(async () => {
    await deadLetter('orders', [ticket('TCK-L1'), ticket('TCK-L2'), { messageId: 'junk-1', body: 'not a ticket' }], 'mesh');
  });

  it('lists every dead letter in the SQS shape by browsing: each stays in the subqueue, unlocked, its delivery count unchanged', async () => {
    const countsBefore = peer.messages(dlq).map((m) => m.deliveryCount);
    // Act
    const r = await runMesh(['failed', '--source', source, '--json'], env);
    // Assess
    expect(r.code, r.stderr).toBe(0);
    const rows = json<Array<{ id: string; source: string; eventId?: string; routeIds: string[]; errorCode: string; message: string; receiveCount?: number }>>(r.stdout);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({ source, id: `${source}#msg-TCK-L1`, eventId: 'TCK-L1', routeIds: ['ticket-triage'], errorCode: 'ModelsExhausted', message: 'every allowed endpoint failed: sim-azure-westeurope answered 503' });
    expect(rows[1]).toMatchObject({ eventId: 'TCK-L2', routeIds: ['ticket-triage'] });
    expect(rows[2]).toMatchObject({ id: `${source}#junk-1`, errorCode: 'Unreadable' });
    const left = peer.messages(dlq);
    expect(left.map((m) => m.messageId)).toEqual(['msg-TCK-L1', 'msg-TCK-L2', 'junk-1']);
    expect(left.every((m) => !m.locked)).toBe(true);
    expect(left.map((m) => m.deliveryCount)).toEqual(countsBefore);
  }, SLOW);

  it('lists dead letters another consumer holds locked (a replay in progress), without waiting for their locks', async () => {
    const holder = client.createReceiver('orders', 'mesh', { subQueueType: 'deadLetter' });
    const held = await holder.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    try {
      const r = await runMesh(['failed', '--source', source, '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(held).toHaveLength(1);
      expect(json<Array<{ id: string }>>(r.stdout).map((row) => row.id)).toEqual(['msg-TCK-L1', 'msg-TCK-L2', 'junk-1'].map((id) => `${source}#${id}`));
    } finally {
      await holder.abandonMessage(held[0]!);
      await holder.close();
    }
  }, SLOW);

  it('names the source in the table and shows one dead letter with its reason and event', async () => {
    const table = await runMesh(['failed', '--source', source], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain(`${source}: 3 of 3 messages`);
    const shown = await runMesh(['failed', 'show', `${source}#msg-TCK-L2`], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^Dead letter msg-TCK-L2 in acme-support\/orders\/Subscriptions\/mesh\/\$DeadLetterQueue/);
    expect(shown.stdout).toMatch(/error: +ModelsExhausted/);
    expect(shown.stdout).toContain('"ticketId": "TCK-88412"');
    expect(peer.messages(dlq)).toHaveLength(3);
  }, SLOW);

  it('refuses a source without its entity, as a usage error', async () => {
    const r = await runMesh(['failed', '--source', `servicebus:${NS}`], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expected servicebus:<namespace>\/<queue>/);
  }, SLOW);
});

describe('mesh replay --source servicebus: --target local (through the local mesh, on purpose)', () => {
  const source = `servicebus:${NS}/tickets`;
  const dlq = 'tickets/$DeadLetterQueue';
  const ids = ['TCK-R1', 'TCK-R2'];

  beforeAll(async () => {
    await deadLetter('tickets', ids.map(ticket));
  });

  it('dry run only browses: nothing locked, settled or recounted, no ledger write, and says what it would do', async () => {
    const countsBefore = peer.messages(dlq).map((m) => m.deliveryCount);
    const r = await runMesh(['replay', '--source', source, '--target', 'local', '--all', '--dry-run', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const { outcomes } = json<{ outcomes: Outcome[] }>(r.stdout);
    expect(outcomes.map((o) => [o.eventId, o.outcome, o.queue])).toEqual([
      ['TCK-R1', 'would-replay', 'untouched (dry run)'],
      ['TCK-R2', 'would-replay', 'untouched (dry run)'],
    ]);
    const left = peer.messages(dlq);
    expect(left.map((m) => m.messageId)).toEqual(['msg-TCK-R1', 'msg-TCK-R2']);
    expect(left.every((m) => !m.locked)).toBe(true);
    expect(left.map((m) => m.deliveryCount)).toEqual(countsBefore);
    const ledger = json<Array<{ eventId: string }>>((await runMesh(['failed', '--status', 'all', '--json'], env)).stdout);
    expect(ledger.some((f) => ids.includes(f.eventId))).toBe(false);
  }, SLOW);

  it('abandons a dead letter whose replay fails again: it stays, with the new reason reported', async () => {
    const r = await runMesh(['replay', '--source', source, '--target', 'local', '--all', '--config', faultyConfig, '--actor', 'night-shift', '--json'], env);
    expect(r.code, r.stderr).toBe(1);
    const { outcomes } = json<{ outcomes: Outcome[] }>(r.stdout);
    expect(outcomes.map((o) => [o.eventId, o.outcome, o.queue])).toEqual([
      ['TCK-R1', 'failed-again', 'abandoned'],
      ['TCK-R2', 'failed-again', 'abandoned'],
    ]);
    expect(outcomes[0]!.detail).toMatch(/^ModelUnavailable: simulated 503/);
    const left = peer.messages(dlq);
    expect(left.map((m) => m.messageId)).toEqual(['msg-TCK-R1', 'msg-TCK-R2']);
    expect(left.every((m) => !m.locked)).toBe(true);
    const shown = await runMesh(['failed', 'show', `${source}#msg-TCK-R1`], env);
    expect(shown.stdout).toMatch(/by night-shift: failed-again — ModelUnavailable: simulated 503/);
  }, SLOW);

  it('replays with faults off: each completed after its success, exactly one result per event', async () => {
    const r = await runMesh(['replay', '--source', source, '--target', 'local', '--all', '--actor', 'day-shift', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const { outcomes } = json<{ outcomes: Outcome[] }>(r.stdout);
    expect(outcomes.map((o) => [o.eventId, o.outcome, o.queue])).toEqual([
      ['TCK-R1', 'succeeded', 'completed'],
      ['TCK-R2', 'succeeded', 'completed'],
    ]);
    expect(peer.messages(dlq)).toEqual([]);
    expect([await resultsFor(ids[0]!), await resultsFor(ids[1]!)]).toEqual([1, 1]);
    const ledger = json<Array<{ eventId: string; status: string }>>((await runMesh(['failed', '--status', 'all', '--json'], env)).stdout);
    expect(ledger.filter((f) => ids.includes(f.eventId)).map((f) => f.status)).toEqual(['resolved', 'resolved']);
  }, SLOW);

  it('completes a dead letter whose event is already done, without a second result', async () => {
    // The same ticket dead-lettered twice; its first copy was replayed above.
    await deadLetter('tickets', [{ ...ticket(ids[0]!), messageId: 'copy-1' }]);
    const r = await runMesh(['replay', '--source', source, '--target', 'local', 'copy-1', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const { outcomes } = json<{ outcomes: Outcome[] }>(r.stdout);
    expect(outcomes.map((o) => [o.messageId, o.outcome, o.queue])).toEqual([['copy-1', 'already-done', 'completed']]);
    expect(peer.messages(dlq)).toEqual([]);
    expect(await resultsFor(ids[0]!)).toBe(1);
  }, SLOW);
});
