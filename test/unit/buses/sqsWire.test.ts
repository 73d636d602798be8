import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceAccessDeniedError, SourceNotFoundError, SourceUnreachableError, SqsDeadLetterQueue, SqsQueueUrlError } from '../../../shared/buses/sqs/index.ts';
import { startSqsFake, type SqsFake } from '../../fakes/sqsFake.ts';

/* The SQS adapter with the real SQSClient against the JSON-protocol fake. */

let sqs: SqsFake;
const client = { region: 'us-east-1', credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake' } };

beforeAll(async () => {
  sqs = await startSqsFake();
});
afterAll(() => sqs.close());

function open(url: string): SqsDeadLetterQueue {
  return new SqsDeadLetterQueue(url, { client: { ...client, endpoint: sqs.url, maxAttempts: 1 }, waitSeconds: 0 });
}

describe('SqsDeadLetterQueue', () => {
  it('speaks the JSON protocol: receive with attributes, hold, release, delete', async () => {
    const url = sqs.createQueue('wire');
    const id = sqs.send(url, '{"a":1}', { ErrorMessage: 'boom' });
    const q = open(url);
    const [m] = await q.receive(10, 30);
    expect(m).toMatchObject({ messageId: id, body: '{"a":1}', receiveCount: 1, attributes: { ErrorMessage: 'boom' } });
    expect(sqs.visible(url)).toHaveLength(0);
    await q.release(m!.receiptHandle);
    expect(sqs.visible(url)).toHaveLength(1);
    const [again] = await q.receive(1, 30);
    await q.delete(again!.receiptHandle);
    expect(sqs.messages(url)).toHaveLength(0);
    expect(sqs.calls.filter((c) => String(c.body.QueueUrl) === url).map((c) => c.operation)).toEqual(['ReceiveMessage', 'ChangeMessageVisibility', 'ReceiveMessage', 'DeleteMessage']);
    q.close();
  });

  it('turns a missing queue into SourceNotFound that says what to check', async () => {
    const err = await open(`${sqs.url}/000000000000/nope`).receive(1, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceNotFoundError);
    expect((err as Error).message).toMatch(/does not exist .*Check the name or URL, the account, and the region/);
  });

  it('turns a refusal into SourceAccessDenied naming the permission', async () => {
    const url = sqs.createQueue('denied');
    sqs.denyAccess = true;
    try {
      const err = await open(url).receive(1, 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceAccessDeniedError);
      expect((err as Error).message).toMatch(/allow sqs:ReceiveMessage/);
    } finally {
      sqs.denyAccess = false;
    }
  });

  it('turns a refused connection into SourceUnreachable pointing at AWS_ENDPOINT_URL_SQS', async () => {
    const q = new SqsDeadLetterQueue('http://127.0.0.1:9/000000000000/q', { client: { ...client, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }, waitSeconds: 0 });
    const err = await q.receive(1, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceUnreachableError);
    expect((err as Error).message).toMatch(/could not reach SQS .*AWS_ENDPOINT_URL_SQS/);
  });

  it('refuses a queue name or ARN where the URL is needed', () => {
    expect(() => new SqsDeadLetterQueue('on-event-dlq')).toThrow(SqsQueueUrlError);
    expect(() => new SqsDeadLetterQueue('arn:aws:sqs:us-east-1:1:q')).toThrow(/aws sqs get-queue-url/);
  });
});
