import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, Envelope } from '../../../shared/core/index.ts';
import { decodeServiceBusMessage, fromReceivedMessage, ServiceBusDeadLetterReader, ServiceBusPublisher } from '../../../shared/buses/index.ts';
import { startServiceBusPeer, type ServiceBusPeer } from '../../fakes/serviceBusPeer.ts';

function result(id: string, data: unknown = { result: { priority: 'high' } }): Envelope {
  return {
    event: {
      specversion: '1.0',
      id,
      source: 'nearmesh/ticket-triage',
      type: 'TicketTriaged',
      time: '2026-03-02T09:20:14Z',
      subject: 'TCK-88412',
      datacontenttype: 'application/json',
      data,
      extensions: { correlationid: 'corr-7', causationid: 'TCK-88412', meshroute: 'ticket-triage' },
    },
    origin: { transport: 'servicebus', cloud: 'azure', namespace: 'acme-support', bus: 'tickets', region: 'westeurope' },
  };
}

const triaged: Destination = { name: 'support-topic', kind: 'servicebus', namespace: 'acme-support', entity: 'tickets-triaged' };

describe('ServiceBusPublisher through the Service Bus peer', () => {
  let peer: ServiceBusPeer;
  let publisher: ServiceBusPublisher;

  beforeAll(async () => {
    peer = await startServiceBusPeer({ topics: { 'tickets-triaged': ['all'] } });
  });
  afterEach(async () => publisher?.close());
  afterAll(async () => peer.close());

  const connect = (env: Record<string, string>) => new ServiceBusPublisher({ env });

  it('sends a result with messageId = result id, correlationId = input correlation, subject = type, and the CloudEvent in cloudEvents: properties', async () => {
    publisher = connect({ MESH_SERVICEBUS_ACME_SUPPORT_CONNECTION: peer.connectionString });

    const outcomes = await publisher.publish(triaged, [result('res-1')]);

    expect(outcomes).toEqual([{ id: 'res-1', ok: true }]);
    const [sent] = peer.messages('tickets-triaged/Subscriptions/all');
    expect(sent).toMatchObject({
      messageId: 'res-1',
      correlationId: 'corr-7',
      subject: 'TicketTriaged',
      contentType: 'application/json',
      body: { result: { priority: 'high' } },
      applicationProperties: {
        'cloudEvents:specversion': '1.0',
        'cloudEvents:id': 'res-1',
        'cloudEvents:source': 'nearmesh/ticket-triage',
        'cloudEvents:type': 'TicketTriaged',
        'cloudEvents:subject': 'TCK-88412',
        'cloudEvents:causationid': 'TCK-88412',
      },
    });
  });

  it('sends many results in batches and reports each one', async () => {
    publisher = connect({ MESH_SERVICEBUS_ACME_SUPPORT_CONNECTION: peer.connectionString });
    const before = peer.messages('tickets-triaged/Subscriptions/all').length;
    const many = Array.from({ length: 25 }, (_, i) => result(`many-${i}`));

    const outcomes = await publisher.publish(triaged, many);

    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(peer.messages('tickets-triaged/Subscriptions/all').slice(before).map((m) => m.messageId)).toEqual(many.map((e) => e.event.id));
  });

  it('fails alone, as PayloadTooLarge, a result bigger than the link accepts; the others still go', async () => {
    publisher = connect({ MESH_SERVICEBUS_ACME_SUPPORT_CONNECTION: peer.connectionString });

    const outcomes = await publisher.publish(triaged, [result('small-1'), result('huge', { blob: 'x'.repeat(2 * 1024 * 1024) }), result('small-2')]);

    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(outcomes[1]).toMatchObject({ ok: false, error: { code: 'PayloadTooLarge', retryable: false } });
  });

  it('reports a namespace it cannot reach as a retryable PublishFailed naming the destination', async () => {
    publisher = new ServiceBusPublisher({
      client: async () => new ServiceBusClient('Endpoint=sb://localhost:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true', { retryOptions: { maxRetries: 0, timeoutInMs: 1_000 } }),
    });

    const [outcome] = await publisher.publish(triaged, [result('unreachable')]);

    expect(outcome).toMatchObject({ ok: false, error: { code: 'PublishFailed', retryable: true } });
    expect(outcome!.ok === false && outcome!.error.message).toContain('support-topic');
  });

  it('round-trips: what it sends decodes back to the same CloudEvent', async () => {
    publisher = connect({ MESH_SERVICEBUS_ACME_SUPPORT_CONNECTION: peer.connectionString });
    const sent = result('round-1');
    await publisher.publish({ ...triaged, entity: 'roundtrip' }, [sent]);
    const client = new ServiceBusClient(peer.connectionString);
    const receiver = client.createReceiver('roundtrip');

    const [received] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    const decoded = decodeServiceBusMessage(fromReceivedMessage(received!, { namespace: 'acme-support', entity: 'roundtrip' }), {
      'acme-support': { cloud: 'azure', region: 'westeurope' },
    });

    expect(decoded.event).toEqual(sent.event);
    expect(decoded.origin).toMatchObject({ transport: 'servicebus', namespace: 'acme-support', bus: 'roundtrip', region: 'westeurope', deliveryCount: 1 });
    await receiver.close();
    await client.close();
  });
});

describe('ServiceBusDeadLetterReader through the Service Bus peer', () => {
  let peer: ServiceBusPeer;
  let client: ServiceBusClient;

  beforeAll(async () => {
    peer = await startServiceBusPeer();
    client = new ServiceBusClient(peer.connectionString);
  });
  afterAll(async () => {
    await client.close();
    await peer.close();
  });

  async function deadLetter(entity: string, messageId: string, body: unknown, reason: string) {
    const sender = client.createSender(entity);
    await sender.sendMessages({ body, messageId, subject: 'TicketOpened', contentType: 'application/json' });
    const receiver = client.createReceiver(entity);
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    await receiver.deadLetterMessage(m!, { deadLetterReason: reason, deadLetterErrorDescription: `${reason}: why` });
    await Promise.all([receiver.close(), sender.close()]);
  }

  it('reads each dead letter with its reason and decoded event; complete removes it, abandon keeps it', async () => {
    await deadLetter('tickets', 'evt-1', { ticketId: 'T-1' }, 'ModelsExhausted');
    await deadLetter('tickets', 'evt-2', { ticketId: 'T-2' }, 'PolicyViolation');
    const reader = new ServiceBusDeadLetterReader({ namespace: 'acme-support', entity: 'tickets', client });

    const letters = await reader.receive(10, 500);
    await reader.complete(letters[0]!);
    await reader.abandon(letters[1]!);

    expect(letters.map((l) => [l.messageId, l.reason, l.description])).toEqual([
      ['evt-1', 'ModelsExhausted', 'ModelsExhausted: why'],
      ['evt-2', 'PolicyViolation', 'PolicyViolation: why'],
    ]);
    expect(letters[0]!.envelope?.event).toMatchObject({ id: 'evt-1', type: 'TicketOpened', data: { ticketId: 'T-1' } });
    expect(letters[0]!.envelope?.event.extensions).toEqual({});
    expect(peer.messages('tickets/$DeadLetterQueue').map((m) => [m.messageId, m.locked])).toEqual([['evt-2', false]]);
    await reader.close();
  });

  it('says why a dead letter cannot be read instead of failing the whole read', async () => {
    await deadLetter('broken', 'evt-x', 'not json at all', 'InvalidEvent');
    const reader = new ServiceBusDeadLetterReader({ namespace: 'acme-support', entity: 'broken', client });

    const [letter] = await reader.receive(1, 500);

    expect(letter!.envelope).toBeUndefined();
    expect(letter!.problem).toMatch(/message\.body/);
    await reader.abandon(letter!);
    await reader.close();
  });
});
