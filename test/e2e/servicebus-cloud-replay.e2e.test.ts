import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceBusClient, type ServiceBusMessage } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceBusPeer, type ServiceBusPeer } from '../fakes/serviceBusPeer.ts';
import { startTableStorageFake, type TableStorageFake } from '../fakes/tableStorageFake.ts';
import { REPO, runMesh } from './devProcess.ts';

/*
 * `mesh replay --source servicebus:` replays a dead letter in Azure, through the real CLI, the
 * real @azure/service-bus and @azure/data-tables clients, the AMQP peer and the Table fake:
 * the route runs with the Azure adapters (its result sent to the route's destination entity,
 * its claim in Table Storage), nothing is resubmitted to the topic (which would reach every
 * subscription), and a message is completed only after its result is out.
 */

const SLOW = 60_000;
const NS = 'acme-support';
const SOURCE = `servicebus:${NS}/orders/Subscriptions/mesh`;
const DLQ = 'orders/Subscriptions/mesh/$DeadLetterQueue';
const RESULTS = 'tickets-triaged';

let dir: string;
let env: Record<string, string>;
let peer: ServiceBusPeer;
let tables: TableStorageFake;
let client: ServiceBusClient;
let sample: { subject: string; contentType: string; applicationProperties: Record<string, string>; body: Record<string, unknown> };

interface Outcome {
  messageId: string;
  eventId?: string;
  routeId?: string;
  outcome: string;
  queue: string;
  detail: string;
}

const json = <T>(text: string): T => JSON.parse(text) as T;

function ticket(eventId: string, messageId = `msg-${eventId}`): ServiceBusMessage {
  return {
    messageId,
    subject: sample.subject,
    contentType: sample.contentType,
    applicationProperties: { ...sample.applicationProperties, 'cloudEvents:id': eventId },
    body: sample.body,
  };
}

/** Dead-letter messages of the mesh's subscription as the function does after its last delivery. */
async function deadLetter(messages: ServiceBusMessage[]): Promise<void> {
  const sender = client.createSender('orders');
  const mesh = client.createReceiver('orders', 'mesh');
  const audit = client.createReceiver('orders', 'audit');
  try {
    await sender.sendMessages(messages);
    // The other subscription consumes its copies: anything in it later was sent to the topic again.
    for (let done = 0; done < messages.length; ) {
      for (const m of await audit.receiveMessages(messages.length - done, { maxWaitTimeInMs: 2_000 })) {
        await audit.completeMessage(m);
        done++;
      }
    }
    let done = 0;
    while (done < messages.length) {
      for (const m of await mesh.receiveMessages(messages.length - done, { maxWaitTimeInMs: 2_000 })) {
        await mesh.deadLetterMessage(m, { deadLetterReason: 'ModelsExhausted', deadLetterErrorDescription: '[route ticket-triage] every allowed endpoint failed' });
        done++;
      }
    }
  } finally {
    await Promise.all([sender.close(), mesh.close(), audit.close()]);
  }
}

function resultsFor(eventId: string): number {
  return peer.messages(RESULTS).filter((m) => JSON.stringify(m.body).includes(eventId)).length;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-sb-cloud-'));
  [peer, tables] = await Promise.all([startServiceBusPeer({ topics: { orders: ['mesh', 'audit'] } }), startTableStorageFake()]);
  client = new ServiceBusClient(peer.connectionString);
  env = { MESH_HOME: join(dir, 'home'), MESH_SERVICEBUS_ACME_SUPPORT_CONNECTION: peer.connectionString, AzureWebJobsStorage: tables.connectionString };
  sample = json(await readFile(join(REPO, 'events/samples/03-ticket-opened.servicebus.json'), 'utf8'));
});

afterAll(async () => {
  await client?.close();
  await Promise.all([peer?.close(), tables?.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('mesh replay --source servicebus: runs the route in Azure', () => {
  it('refuses to start without the idempotency table, naming the setting and --target local', async () => {
    const r = await runMesh(['replay', '--source', SOURCE, '--all'], { ...env, AzureWebJobsStorage: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/AzureWebJobsStorage.*MESH_TABLES_ENDPOINT.*--target local/s);
  }, SLOW);

  it('abandons the message, prints the reason and exits 1 when the destination refuses the result', async () => {
    // Prepare
    await deadLetter([ticket('TCK-C1')]);
    peer.failSends(RESULTS, 5);
    // Act
    const r = await runMesh(['replay', '--source', SOURCE, '--all', '--actor', 'night-shift'], env);
    // Assess
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/msg-TCK-C1 \(route ticket-triage\): Publish\w+: could not publish result .* to destination support-topic/);
    expect(peer.messages(DLQ).map((m) => m.messageId)).toEqual(['msg-TCK-C1']);
    expect(resultsFor('TCK-C1')).toBe(0);
    const shown = await runMesh(['failed', 'show', `${SOURCE}#msg-TCK-C1`], env);
    expect(shown.stdout).toMatch(/by night-shift: failed-again — Publish/);
    peer.failSends(RESULTS, 0);
  }, SLOW);

  it('sends the result to the route destination only, completes the message after; a second copy is already done', async () => {
    // Act (the dead letter left by the refusal above)
    const first = await runMesh(['replay', '--source', SOURCE, '--all', '--json'], env);
    // Assess
    expect(first.code, first.stderr).toBe(0);
    expect(json<{ outcomes: Outcome[] }>(first.stdout).outcomes.map((o) => [o.routeId, o.outcome, o.queue])).toEqual([['ticket-triage', 'succeeded', 'completed']]);
    expect(resultsFor('TCK-C1')).toBe(1);
    expect(peer.messages(DLQ)).toHaveLength(0);
    // Never resubmitted to the topic: the other subscription got nothing new, the mesh's neither.
    expect(peer.messages('orders/Subscriptions/audit')).toHaveLength(0);
    expect(peer.messages('orders/Subscriptions/mesh')).toHaveLength(0);
    // The claim is the deployment's, in Table Storage.
    expect(JSON.stringify(tables.entities('meshidempotency'))).toMatch(/ticket-triage/);

    // Act again: the same event dead-lettered a second time
    await deadLetter([ticket('TCK-C1', 'msg-TCK-C1-copy')]);
    const second = await runMesh(['replay', '--source', SOURCE, '--all', '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(json<{ outcomes: Outcome[] }>(second.stdout).outcomes.map((o) => [o.outcome, o.queue])).toEqual([['already-done', 'completed']]);
    expect(resultsFor('TCK-C1')).toBe(1);
    expect(peer.messages(DLQ)).toHaveLength(0);
  }, SLOW);
});
