import { inspect } from 'node:util';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ServiceBusClient } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';
import { awsSourceError, ServiceBusPublisher } from '../../../shared/buses/index.ts';
import { EventBridgePublisher } from '../../../shared/buses/eventbridge/publisher.ts';
import { S3ClaimCheckStore } from '../../../shared/buses/eventbridge/claimCheck.ts';
import type { Envelope, MeshError } from '../../../shared/core/index.ts';

/*
 * A bus's error is not ours either: the SDK error object holds the response, its headers,
 * sometimes the signed request. A MeshError keeps a redacted summary of it, never the object.
 */

const SESSION_TOKEN =
  'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDx5kZ0uY3Zb1Yb8aGcV0u3n1n6Zq+P9yKXq9w5nS0b2AIgXq2o1Vv8mK3sQ2hYh0z7E4vXbGf0nA==';
const SAS_KEY = 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=';
const SECRETS = [SESSION_TOKEN, 'ASIAIOSFODNN7EXAMPLE', 'sk-proj-Echoed0123456789abcdef', SAS_KEY];

/** An AWS SDK error as the SDK throws it: the raw response (headers included) hangs off it. */
function awsSdkError(name: string, status: number): Error {
  return Object.assign(new Error(`${name}: the security token ${SESSION_TOKEN} (ASIAIOSFODNN7EXAMPLE) is invalid`), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status, requestId: 'sk-proj-Echoed0123456789abcdef' },
    $response: { statusCode: status, headers: { 'x-amz-security-token': SESSION_TOKEN, authorization: `AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE/x` } },
  });
}

function expectNoSecret(err: MeshError): void {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 10; depth++) {
    parts.push(String(e), JSON.stringify(e) ?? '', inspect(e, { depth: 10, showHidden: true }));
    e = (e as { cause?: unknown }).cause;
  }
  const seen = parts.join('\n');
  for (const secret of SECRETS) expect(seen).not.toContain(secret);
  const cause = err.cause as Record<string, unknown>;
  expect(cause).toBeInstanceOf(Error);
  expect(cause).not.toHaveProperty('$response');
  expect(cause).not.toHaveProperty('$metadata');
}

const result: Envelope = {
  event: { specversion: '1.0', id: 'r-1', source: 'nearmesh.order-risk', type: 'OrderRiskScored', data: { score: 1 }, extensions: {} },
  origin: { transport: 'eventbridge', cloud: 'aws', region: 'us-east-1' },
};

describe('bus errors keep a redacted summary as cause', () => {
  it('EventBridge PutEvents: a refused call', async () => {
    const client = { send: () => Promise.reject(awsSdkError('UnrecognizedClientException', 400)), destroy() {} } as unknown as EventBridgeClient;
    const publisher = new EventBridgePublisher({ client: () => client });

    const [outcome] = await publisher.publish({ name: 'orders-bus', kind: 'eventbridge', bus: 'orders' }, [result]);

    expect(outcome!.ok).toBe(false);
    const error = (outcome as { error: MeshError }).error;
    expect(error.code).toBe('PublishRejected');
    expect((error.cause as { statusCode?: number }).statusCode).toBe(400);
    expectNoSecret(error);
  });

  it('EventBridge PutEvents: an entry refused with a message that echoes a key', async () => {
    const client = {
      send: () => Promise.resolve({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: `not allowed for ${SESSION_TOKEN}` }] }),
      destroy() {},
    } as unknown as EventBridgeClient;
    const publisher = new EventBridgePublisher({ client: () => client });

    const [outcome] = await publisher.publish({ name: 'orders-bus', kind: 'eventbridge', bus: 'orders' }, [result]);

    expect(JSON.stringify((outcome as { error: MeshError }).error) + (outcome as { error: MeshError }).error.message).not.toContain(SESSION_TOKEN);
  });

  it('S3 claim check: a refused write', async () => {
    const client = { send: () => Promise.reject(awsSdkError('AccessDenied', 403)), destroy() {} } as unknown as S3Client;
    const store = new S3ClaimCheckStore({ client: () => client });

    const err = await store.put({ bucket: 'b', prefix: 'p/' } as never, 'p/r-1.json', '{}', 'r-1').then(
      () => undefined,
      (e: unknown) => e as MeshError,
    );

    expect(err?.code).toBe('PublishRejected');
    expectNoSecret(err!);
  });

  it('SQS and archive sources', () => {
    const err = awsSourceError(awsSdkError('InvalidClientTokenId', 403), { service: 'SQS', resource: 'q', endpointVariable: 'AWS_ENDPOINT_URL_SQS', permission: 'sqs:ReceiveMessage' });

    expect(err.code).toBe('SourceAccessDenied');
    expect(err.message).toContain('[request ***]');
    expectNoSecret(err);
  });

  it('Service Bus: a refused send', async () => {
    const sbError = Object.assign(new Error(`Unauthorized: Endpoint=sb://ns/;SharedAccessKeyName=send;SharedAccessKey=${SAS_KEY}`), {
      name: 'ServiceBusError',
      code: 'UnauthorizedAccess',
      retryable: false,
      info: { connectionString: `SharedAccessKey=${SAS_KEY}` },
    });
    const client = { createSender: () => { throw sbError; }, close: async () => {} } as unknown as ServiceBusClient;
    const publisher = new ServiceBusPublisher({ client: async () => client });

    const [outcome] = await publisher.publish({ name: 'tickets', kind: 'servicebus', namespace: 'ns', entity: 'q' }, [result]);

    const error = (outcome as { error: MeshError }).error;
    expect(error.code).toBe('PublishRejected');
    expect((error.cause as { code?: string }).code).toBe('UnauthorizedAccess');
    expectNoSecret(error);
  });
});
