import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceBusPeer, type ServiceBusPeer } from '../../fakes/serviceBusPeer.ts';

// The peer stands in for Service Bus in every Azure spec, so it is itself held to the real
// client: anything these specs do, @azure/service-bus does over AMQP exactly as against Azure.
describe('Service Bus test peer, driven by the real @azure/service-bus client', () => {
  let peer: ServiceBusPeer;
  let client: ServiceBusClient;

  beforeAll(async () => {
    peer = await startServiceBusPeer({ topics: { results: ['audit', 'billing'] } });
    client = new ServiceBusClient(peer.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } });
  });
  afterAll(async () => {
    await client.close();
    await peer.close();
  });

  it('stores a single message with its properties, and a JSON body as JSON', async () => {
    const sender = client.createSender('single');
    await sender.sendMessages({ body: { a: 1 }, messageId: 'm-1', correlationId: 'c-1', subject: 'Thing', contentType: 'application/json', applicationProperties: { k: 'v' } });
    await sender.close();

    expect(peer.messages('single')).toMatchObject([
      { messageId: 'm-1', correlationId: 'c-1', subject: 'Thing', contentType: 'application/json', applicationProperties: { k: 'v' }, body: { a: 1 } },
    ]);
  });

  it('unpacks a batch made by createMessageBatch into its messages, in order', async () => {
    const sender = client.createSender('batched');
    const batch = await sender.createMessageBatch();
    for (const id of ['b-1', 'b-2', 'b-3']) expect(batch.tryAddMessage({ body: { id }, messageId: id })).toBe(true);
    await sender.sendMessages(batch);
    await sender.close();

    expect(peer.messages('batched').map((m) => m.messageId)).toEqual(['b-1', 'b-2', 'b-3']);
  });

  it('copies a message sent to a topic into each subscription', async () => {
    const sender = client.createSender('results');
    await sender.sendMessages({ body: 'x', messageId: 't-1' });
    await sender.close();

    expect(peer.messages('results/Subscriptions/audit').map((m) => m.messageId)).toEqual(['t-1']);
    expect(peer.messages('results/subscriptions/billing').map((m) => m.messageId)).toEqual(['t-1']);
  });

  it('delivers in peek-lock with lock token, sequence number, enqueued time and delivery count, and removes on complete', async () => {
    const sender = client.createSender('work');
    await sender.sendMessages([{ body: { n: 1 }, messageId: 'w-1' }, { body: { n: 2 }, messageId: 'w-2' }]);
    const receiver = client.createReceiver('work');

    const got = await receiver.receiveMessages(2, { maxWaitTimeInMs: 2_000 });

    expect(got.map((m) => m.messageId)).toEqual(['w-1', 'w-2']);
    expect(got[0]!.lockToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(got[0]!.sequenceNumber!.toNumber()).toBeGreaterThan(0);
    expect(got[0]!.enqueuedTimeUtc).toBeInstanceOf(Date);
    expect(got[0]!.lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now());
    expect(got[0]!.deliveryCount).toBe(1);
    expect(peer.messages('work').every((m) => m.locked)).toBe(true);
    await receiver.completeMessage(got[0]!);
    await receiver.completeMessage(got[1]!);
    expect(peer.messages('work')).toEqual([]);
    await receiver.close();
    await sender.close();
  });

  it('redelivers an abandoned message with its delivery count raised', async () => {
    const sender = client.createSender('retry');
    await sender.sendMessages({ body: {}, messageId: 'r-1' });
    const receiver = client.createReceiver('retry');

    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    await receiver.abandonMessage(first!);
    const [second] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });

    expect(second!.messageId).toBe('r-1');
    expect(second!.deliveryCount).toBe(2);
    await receiver.completeMessage(second!);
    await receiver.close();
    await sender.close();
  });

  it('dead-letters with reason and description, readable from the dead-letter subqueue', async () => {
    const sender = client.createSender('doomed');
    await sender.sendMessages({ body: { x: 1 }, messageId: 'd-1', applicationProperties: { origin: 'test' } });
    const receiver = client.createReceiver('doomed');
    const [msg] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });

    await receiver.deadLetterMessage(msg!, { deadLetterReason: 'InvalidEvent', deadLetterErrorDescription: 'message.body: not an object' });
    const dlq = client.createReceiver('doomed', { subQueueType: 'deadLetter' });
    const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 2_000 });

    expect(peer.messages('doomed')).toEqual([]);
    expect(dead).toMatchObject({ messageId: 'd-1', body: { x: 1 }, deadLetterReason: 'InvalidEvent', deadLetterErrorDescription: 'message.body: not an object' });
    expect(dead!.applicationProperties).toMatchObject({ origin: 'test' });
    await dlq.completeMessage(dead!);
    expect(peer.messages('doomed/$DeadLetterQueue')).toEqual([]);
    await Promise.all([receiver.close(), dlq.close(), sender.close()]);
  });

  it('returns what a receive finds when fewer messages wait than asked for (drain)', async () => {
    const receiver = client.createReceiver('empty');

    const started = Date.now();
    const got = await receiver.receiveMessages(5, { maxWaitTimeInMs: 300 });

    expect(got).toEqual([]);
    expect(Date.now() - started).toBeLessThan(3_000);
    await receiver.close();
  });

  it('answers peek through $management, without locking', async () => {
    const sender = client.createSender('peeked');
    await sender.sendMessages({ body: { p: 1 }, messageId: 'p-1' });
    const receiver = client.createReceiver('peeked');

    const peeked = await receiver.peekMessages(5);
    const none = await client.createReceiver('nothing-here').peekMessages(5);

    expect(peeked.map((m) => m.messageId)).toEqual(['p-1']);
    expect(none).toEqual([]);
    expect(peer.messages('peeked')[0]!.locked).toBe(false);
    await receiver.close();
    await sender.close();
  });
});
