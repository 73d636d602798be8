import { createHash } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3ClaimCheckStore } from '../../../shared/buses/eventbridge/claimCheck.ts';
import { EventBridgePublisher } from '../../../shared/buses/eventbridge/publisher.ts';
import type { Destination, Envelope } from '../../../shared/core/index.ts';
import { startEventBridgeFake, type EventBridgeFake } from '../../fakes/eventBridgeFake.ts';
import { startS3Fake, type S3Fake } from '../../fakes/s3Fake.ts';

/*
 * Claim check for results too large for a PutEvents entry: the real S3Client and
 * EventBridgeClient against wire fakes. The detail goes to S3 under a deterministic key and
 * the bus gets a small event saying where it is.
 */

const CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
const LARGE: Destination = { name: 'orders-bus', kind: 'eventbridge', bus: 'acme-orders', region: 'us-east-1', claimCheck: { bucket: 'acme-mesh-results', prefix: 'large/' } };
const PROVENANCE = { route: 'order-summary', endpoint: 'bedrock-eu', region: 'eu-west-1', tier: 'same-region' };

function result(n: number, text: string): Envelope {
  return {
    event: {
      specversion: '1.0',
      id: `result-${n}`,
      source: 'nearmesh.order-summary',
      type: 'OrderSummarised',
      time: '2026-03-02T09:14:06.123Z',
      datacontenttype: 'application/json',
      data: { result: { summary: text }, provenance: PROVENANCE },
      extensions: {},
    },
    origin: { transport: 'eventbridge', cloud: 'aws', region: 'us-east-1' },
  };
}

let bus: EventBridgeFake;
let s3: S3Fake;
let eventBridge: EventBridgeClient;
let s3Client: S3Client;

beforeEach(async () => {
  bus = await startEventBridgeFake();
  s3 = await startS3Fake({ buckets: ['acme-mesh-results'] });
  eventBridge = new EventBridgeClient({ endpoint: bus.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
  s3Client = new S3Client({ endpoint: s3.url, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS, maxAttempts: 1 });
});
afterEach(async () => {
  eventBridge.destroy();
  s3Client.destroy();
  await bus.close();
  await s3.close();
});

const publisher = () => new EventBridgePublisher({ client: () => eventBridge, claimChecks: new S3ClaimCheckStore({ client: () => s3Client }), sleep: async () => {} });

describe('claim check (EventBridge destination with claimCheck)', () => {
  it('stores an oversized detail in S3 at <prefix><result id>.json and publishes a reference with its size, hash and the provenance', async () => {
    const big = result(1, 'x'.repeat(300 * 1024));

    const outcomes = await publisher().publish(LARGE, [big, result(2, 'short')]);

    expect(outcomes).toEqual([{ id: 'result-1', ok: true }, { id: 'result-2', ok: true }]);
    const stored = s3.objects.get('acme-mesh-results/large/result-1.json')!;
    expect(stored.headers['content-type']).toBe('application/json');
    expect(JSON.parse(stored.body.toString('utf8'))).toEqual(big.event.data);
    const [first, second] = bus.accepted;
    expect(first).toMatchObject({ Source: 'nearmesh.order-summary', DetailType: 'OrderSummarised', EventBusName: 'acme-orders' });
    expect(JSON.parse(first!.Detail)).toEqual({
      claimcheck: {
        uri: 's3://acme-mesh-results/large/result-1.json',
        bucket: 'acme-mesh-results',
        key: 'large/result-1.json',
        bytes: stored.body.length,
        sha256: createHash('sha256').update(stored.body).digest('hex'),
        contenttype: 'application/json',
      },
      provenance: PROVENANCE,
    });
    // A result that fits goes as it is.
    expect(JSON.parse(second!.Detail)).toEqual(result(2, 'short').event.data);
    expect(s3.objects.size).toBe(1);
  });

  it('a reader gets the whole detail back with the reference (GetObject on bucket and key)', async () => {
    const big = result(3, 'ü'.repeat(200 * 1024));
    await publisher().publish(LARGE, [big]);
    const ref = (JSON.parse(bus.accepted[0]!.Detail) as { claimcheck: { bucket: string; key: string } }).claimcheck;

    const got = await s3Client.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }));

    expect(JSON.parse(await got.Body!.transformToString())).toEqual(big.event.data);
  });

  it('publishing the same result again writes the same object, not a second one', async () => {
    const big = result(4, 'y'.repeat(300 * 1024));

    await publisher().publish(LARGE, [big]);
    await publisher().publish(LARGE, [big]);

    expect([...s3.objects.keys()]).toEqual(['acme-mesh-results/large/result-4.json']);
    expect(bus.accepted[0]!.Detail).toBe(bus.accepted[1]!.Detail);
  });

  it('a missing bucket fails that result as PublishRejected naming the bucket and what to fix; the others still go', async () => {
    const outcomes = await publisher().publish({ ...LARGE, claimCheck: { bucket: 'no-such-bucket' } }, [result(5, 'z'.repeat(300 * 1024)), result(6, 'short')]);

    expect(outcomes[1]).toEqual({ id: 'result-6', ok: true });
    const failed = outcomes[0]!;
    expect(failed.ok).toBe(false);
    if (!failed.ok) {
      expect(failed.error.code).toBe('PublishRejected');
      expect(failed.error.retryable).toBe(false);
      expect(failed.error.message).toMatch(/bucket no-such-bucket does not exist .* claimCheck\.bucket in mesh\.yaml/);
    }
    expect(bus.accepted.map((e) => JSON.parse(e.Detail) as unknown)).toEqual([result(6, 'short').event.data]);
  });

  it('S3 throttling or a 5xx fails the result as retryable PublishFailed, and nothing reaches the bus for it', async () => {
    s3.failNextPuts(1, 503, 'SlowDown');

    const [outcome] = await publisher().publish(LARGE, [result(7, 'w'.repeat(300 * 1024))]);

    expect(outcome!.ok).toBe(false);
    if (!outcome!.ok) expect(outcome!.error).toMatchObject({ code: 'PublishFailed', retryable: true });
    expect(bus.accepted).toEqual([]);
  });

  it('the default store finds a custom S3 endpoint from AWS_ENDPOINT_URL_S3 and addresses it path-style', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_S3: s3.url, AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' });
    const store = new S3ClaimCheckStore();
    try {
      await store.put({ bucket: 'acme-mesh-results' }, 'r.json', '{"a":1}', 'r');
    } finally {
      store.close();
      process.env = saved;
    }
    expect(s3.objects.get('acme-mesh-results/r.json')?.body.toString()).toBe('{"a":1}');
  });

  it('without claimCheck an oversized result is PayloadTooLarge, and the message says how to send a reference instead', async () => {
    const { claimCheck: _none, ...plain } = LARGE;

    const [outcome] = await publisher().publish(plain, [result(8, 'v'.repeat(300 * 1024))]);

    expect(outcome!.ok).toBe(false);
    if (!outcome!.ok) expect(outcome!.error.message).toMatch(/give it a claimCheck bucket in mesh\.yaml/);
    expect(s3.requests).toEqual([]);
  });
});
