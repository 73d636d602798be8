import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Destination, Envelope } from '../../../shared/core/index.ts';
import { EventBridgePublisher } from '../../../shared/buses/eventbridge/publisher.ts';
import { putEventsEntrySize } from '../../../shared/buses/eventbridge/publisherEntries.ts';
import { startEventBridgeFake, type EventBridgeFake } from '../../fakes/eventBridgeFake.ts';

const ORDERS: Destination = { name: 'orders-bus', kind: 'eventbridge', bus: 'acme-orders', region: 'us-east-1' };

function result(n: number, detail: Record<string, unknown> = { score: n }, extensions: Record<string, string> = {}): Envelope {
  return {
    event: {
      specversion: '1.0',
      id: `result-${n}`,
      source: 'nearmesh.order-risk',
      type: 'OrderRiskScored',
      time: '2026-03-02T09:14:06.123Z',
      datacontenttype: 'application/json',
      data: detail,
      extensions: { awsregion: 'us-east-1', awsaccount: '123456789012', ...extensions },
    },
    origin: { transport: 'eventbridge', cloud: 'aws', region: 'us-east-1' },
  };
}

describe('EventBridgePublisher (real EventBridgeClient against a PutEvents fake)', () => {
  let fake: EventBridgeFake;
  let client: EventBridgeClient;
  const slept: number[] = [];

  beforeEach(async () => {
    fake = await startEventBridgeFake();
    client = new EventBridgeClient({ endpoint: fake.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
    slept.length = 0;
  });
  afterEach(async () => {
    client.destroy();
    await fake.close();
  });

  const publisher = (extra: ConstructorParameters<typeof EventBridgePublisher>[0] = {}) =>
    new EventBridgePublisher({ client: () => client, sleep: async (ms) => void slept.push(ms), random: () => 0.5, ...extra });

  it('sends Source, DetailType, Detail, Resources, TraceHeader and the bus of the destination', async () => {
    // Prepare
    const env = result(1, { score: 7 }, { awsresources: JSON.stringify(['arn:aws:orders:ORD-1']), awstraceheader: 'Root=1-abc' });

    // Act
    const outcomes = await publisher().publish(ORDERS, [env]);

    // Assess
    expect(outcomes).toEqual([{ id: 'result-1', ok: true }]);
    expect(fake.calls[0]!.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
    expect(fake.calls[0]!.headers['content-type']).toContain('application/x-amz-json-1.1');
    const [entry] = fake.calls[0]!.entries;
    expect(entry).toMatchObject({
      Source: 'nearmesh.order-risk',
      DetailType: 'OrderRiskScored',
      EventBusName: 'acme-orders',
      Resources: ['arn:aws:orders:ORD-1'],
      TraceHeader: 'Root=1-abc',
    });
    expect(JSON.parse(entry!.Detail)).toEqual({ score: 7 });
  });

  it('stamps the invocation trace header on a result that carries none, and leaves Resources out when empty', async () => {
    await publisher({ traceHeader: () => 'Root=1-lambda;Parent=2;Sampled=1' }).publish(ORDERS, [result(1)]);

    const [entry] = fake.calls[0]!.entries;
    expect(entry!.TraceHeader).toBe('Root=1-lambda;Parent=2;Sampled=1');
    expect(entry!.Resources).toBeUndefined();
  });

  it('sends at most 10 entries a call, in order', async () => {
    const events = Array.from({ length: 23 }, (_, i) => result(i));

    const outcomes = await publisher().publish(ORDERS, events);

    expect(fake.calls.map((c) => c.entries.length)).toEqual([10, 10, 3]);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(fake.accepted.map((e) => JSON.parse(e.Detail).score)).toEqual(events.map((_, i) => i));
  });

  it('splits calls so that no request exceeds the request size limit', async () => {
    const big = 'x'.repeat(100 * 1024);
    const events = [result(1, { big }), result(2, { big }), result(3, { big })];

    await publisher().publish(ORDERS, events);

    expect(fake.calls.map((c) => c.entries.length)).toEqual([2, 1]);
  });

  it('resends only the failed entries of a partial failure, with growing backoff', async () => {
    // Prepare: entries 1 and 3 throttled on the first call, entry 3 again on the second.
    fake.script(
      (entries) => entries.map((_, i) => (i === 1 || i === 3 ? { code: 'ThrottlingException', message: 'Rate exceeded' } : undefined)),
      (entries) => entries.map((_, i) => (i === 1 ? { code: 'InternalFailure' } : undefined)),
    );
    const events = [0, 1, 2, 3, 4].map((n) => result(n));

    // Act
    const outcomes = await publisher().publish(ORDERS, events);

    // Assess
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, true, true]);
    expect(fake.calls.map((c) => c.entries.map((e) => JSON.parse(e.Detail).score))).toEqual([[0, 1, 2, 3, 4], [1, 3], [3]]);
    expect(slept).toEqual([75, 150]);
  });

  it('gives up on an entry that keeps failing after maxAttempts calls, as a retryable PublishFailed', async () => {
    const throttle = (entries: unknown[]) => entries.map(() => ({ code: 'ThrottlingException' }));
    fake.script(throttle, throttle, throttle);

    const [outcome] = await publisher({ maxAttempts: 3 }).publish(ORDERS, [result(1)]);

    expect(fake.calls).toHaveLength(3);
    expect(outcome!.ok).toBe(false);
    const error = outcome!.ok ? undefined : outcome!.error;
    expect(error?.code).toBe('PublishFailed');
    expect(error?.retryable).toBe(true);
    expect(error?.message).toContain('ThrottlingException');
  });

  it('does not resend an entry failed with a permanent code, and says so without retry', async () => {
    fake.script((entries) => entries.map((_, i) => (i === 0 ? { code: 'NotAuthorizedForSourceException', message: 'not authorized for source' } : undefined)));

    const outcomes = await publisher().publish(ORDERS, [result(1), result(2)]);

    expect(fake.calls).toHaveLength(1);
    expect(outcomes[1]).toEqual({ id: 'result-2', ok: true });
    const failed = outcomes[0]!;
    expect(failed.ok).toBe(false);
    if (!failed.ok) {
      expect(failed.error.code).toBe('PublishRejected');
      expect(failed.error.retryable).toBe(false);
      expect(failed.error.message).toContain('not authorized for source');
    }
  });

  it('fails an entry over the size limit with PayloadTooLarge and still sends the others', async () => {
    const events = [result(1), result(2, { text: 'y'.repeat(2000) })];

    const outcomes = await publisher({ maxEntryBytes: 1024 }).publish(ORDERS, events);

    expect(outcomes[0]).toEqual({ id: 'result-1', ok: true });
    const tooLarge = outcomes[1]!;
    expect(tooLarge.ok).toBe(false);
    if (!tooLarge.ok) {
      expect(tooLarge.error.code).toBe('PayloadTooLarge');
      expect(tooLarge.error.message).toMatch(/result-2 is \d+ bytes .* at most 1024/);
    }
    expect(fake.calls.flatMap((c) => c.entries)).toHaveLength(1);
  });

  it('takes a larger entry limit when configured (AWS has announced larger entries)', async () => {
    const events = [result(1, { text: 'z'.repeat(300 * 1024) })];

    const outcomes = await publisher({ maxEntryBytes: 1024 * 1024, maxRequestBytes: 1024 * 1024 }).publish(ORDERS, events);

    expect(outcomes[0]!.ok).toBe(true);
  });

  it('turns a refused call into a non-retryable PublishRejected for every entry in it', async () => {
    fake.script({ status: 400, type: 'AccessDeniedException', message: 'User is not authorized to perform: events:PutEvents' });

    const outcomes = await publisher().publish(ORDERS, [result(1), result(2)]);

    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(['PublishRejected', 'PublishRejected']);
    expect(outcomes[0]!.ok ? '' : outcomes[0]!.error.message).toContain('events:PutEvents');
  });

  it('counts entry size the way EventBridge documents it (Time, Source, DetailType, Detail, Resources)', () => {
    expect(putEventsEntrySize({ Source: 'ab', DetailType: 'cd', Detail: '{"é":1}' })).toBe(2 + 2 + 8) // é is two bytes in UTF-8;
    expect(putEventsEntrySize({ Source: 'a', DetailType: 'b', Detail: '{}', Time: '2026-01-01T00:00:00Z', Resources: ['rrr'] })).toBe(14 + 1 + 1 + 2 + 3);
  });
});
