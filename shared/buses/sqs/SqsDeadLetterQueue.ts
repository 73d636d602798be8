import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { awsSourceError, SourceRequestError } from './awsSourceErrors.ts';
import type { DeadLetterQueue, ReceivedMessage } from './DeadLetterQueue.ts';

export interface SqsDeadLetterQueueOptions {
  /** Client settings for tests; by default the SDK reads AWS_REGION, AWS_ENDPOINT_URL_SQS and the credential chain. */
  client?: SQSClientConfig;
  /** Seconds a receive waits for messages when the queue looks empty (long polling reaches every SQS server). Default 1. */
  waitSeconds?: number;
}

/**
 * An SQS queue used as a dead-letter queue (Lambda's on-failure destination, or a DLQ).
 * The only file that talks to SQS; every SDK error becomes a Source… MeshError saying what
 * to check.
 *
 * @example
 * const dlq = new SqsDeadLetterQueue('https://sqs.us-east-1.amazonaws.com/123456789012/on-event-dlq');
 * const [first] = await dlq.receive(10, 30);
 * await dlq.release(first.receiptHandle);
 */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  private readonly client: SQSClient;
  private readonly waitSeconds: number;

  constructor(
    readonly name: string,
    options: SqsDeadLetterQueueOptions = {},
  ) {
    checkQueueUrl(name);
    // Region: the queue URL says it (sqs.<region>.amazonaws.com) when the environment does not.
    const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? regionOf(name);
    this.client = new SQSClient({ ...(region ? { region } : {}), maxAttempts: 3, ...options.client });
    this.waitSeconds = options.waitSeconds ?? 1;
  }

  async receive(max: number, visibilitySeconds: number): Promise<ReceivedMessage[]> {
    const out = await this.call('sqs:ReceiveMessage', () =>
      this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.name,
          MaxNumberOfMessages: Math.min(10, Math.max(1, max)),
          VisibilityTimeout: visibilitySeconds,
          WaitTimeSeconds: this.waitSeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
          MessageAttributeNames: ['All'],
        }),
      ),
    );
    return (out.Messages ?? []).flatMap((m) => {
      if (!m.MessageId || !m.ReceiptHandle) return [];
      const attributes: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.MessageAttributes ?? {})) if (v.StringValue !== undefined) attributes[k] = v.StringValue;
      const count = Number(m.Attributes?.ApproximateReceiveCount);
      const sent = Number(m.Attributes?.SentTimestamp);
      return [
        {
          messageId: m.MessageId,
          receiptHandle: m.ReceiptHandle,
          body: m.Body ?? '',
          ...(Number.isFinite(count) && count > 0 ? { receiveCount: count } : {}),
          ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}),
          attributes,
        },
      ];
    });
  }

  async hold(receiptHandle: string, seconds: number): Promise<void> {
    await this.call('sqs:ChangeMessageVisibility', () =>
      this.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.name, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds })),
    );
  }

  async release(receiptHandle: string): Promise<void> {
    await this.hold(receiptHandle, 0);
  }

  async delete(receiptHandle: string): Promise<void> {
    await this.call('sqs:DeleteMessage', () => this.client.send(new DeleteMessageCommand({ QueueUrl: this.name, ReceiptHandle: receiptHandle })));
  }

  /**
   * Put a failure record on the queue (the Lambda handler does, for a failure retrying cannot
   * fix, in the on-failure record's shape). Returns the SQS message id.
   */
  async send(body: string): Promise<string> {
    const out = await this.call('sqs:SendMessage', () => this.client.send(new SendMessageCommand({ QueueUrl: this.name, MessageBody: body })));
    return out.MessageId ?? '';
  }

  close(): void {
    this.client.destroy();
  }

  private async call<T>(permission: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw awsSourceError(err, { service: 'SQS', resource: this.name, endpointVariable: 'AWS_ENDPOINT_URL_SQS', permission });
    }
  }
}

function checkQueueUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.pathname.split('/').filter(Boolean).length < 2) {
    throw new SqsQueueUrlError(url);
  }
}

/** `https://sqs.eu-west-1.amazonaws.com/123/q` → `eu-west-1`. */
function regionOf(url: string): string | undefined {
  return /^https?:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(url)?.[1];
}

/** The queue is not named by its URL (SQS calls need the URL, not the name or ARN). */
export class SqsQueueUrlError extends SourceRequestError {
  override readonly name = 'SqsQueueUrlError';
  constructor(url: string) {
    super(
      `${JSON.stringify(url)} is not an SQS queue URL; expected https://sqs.<region>.amazonaws.com/<account>/<queue> (aws sqs get-queue-url --queue-name <name> prints it)`,
      { context: { source: url } },
    );
  }
}
