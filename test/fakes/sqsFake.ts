import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A wire-level fake of SQS for the real SQSClient, which speaks the AWS JSON 1.0 protocol
 * (`X-Amz-Target: AmazonSQS.<Operation>`, `content-type: application/x-amz-json-1.0`, errors
 * as `__type` plus the query-compatible `x-amzn-query-error` header). It keeps what a
 * dead-letter replay depends on: visibility timeouts, one receipt handle per receive (older
 * handles stop working), receive counts, and MD5 of the body (the client checks it).
 */

export interface SqsCall {
  /** `ReceiveMessage`, `DeleteMessage`, … */
  operation: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary wire fields
  body: any;
  at: number;
}

export interface FakeMessage {
  messageId: string;
  body: string;
  attributes: Record<string, string>;
  sentAt: number;
  receiveCount: number;
  /** Epoch ms until which it is hidden (0: visible). */
  invisibleUntil: number;
  receiptHandle?: string;
  deleted: boolean;
}

export interface SqsFake {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL_SQS; queue URLs are on it. */
  url: string;
  calls: SqsCall[];
  /** Create a queue; returns its URL. */
  createQueue(name: string): string;
  /** Put a message on a queue (as Lambda's on-failure destination would); returns its id. */
  send(queueUrl: string, body: string, attributes?: Record<string, string>): string;
  /** The messages not deleted, in order of arrival. */
  messages(queueUrl: string): FakeMessage[];
  /** Messages visible now. */
  visible(queueUrl: string): FakeMessage[];
  /** Answer every call with AccessDenied while set. */
  denyAccess: boolean;
  close(): Promise<void>;
}

type Handler = (body: Record<string, unknown>) => unknown;

class SqsFault extends Error {
  constructor(
    readonly type: string,
    readonly queryCode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * Start the fake on a free port.
 *
 * @example
 * const sqs = await startSqsFake();
 * const dlq = sqs.createQueue('on-event-dlq');
 * sqs.send(dlq, JSON.stringify(record));
 * // … AWS_ENDPOINT_URL_SQS=sqs.url, then the client receives from dlq …
 */
export async function startSqsFake(): Promise<SqsFake> {
  const queues = new Map<string, FakeMessage[]>();
  const calls: SqsCall[] = [];
  const server = createServer();
  let base = '';

  const queueOf = (body: Record<string, unknown>): FakeMessage[] => {
    const url = String(body.QueueUrl ?? '');
    const q = queues.get(new URL(url, 'http://x').pathname);
    if (!q) throw new SqsFault('com.amazonaws.sqs#QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
    return q;
  };
  const byHandle = (q: FakeMessage[], handle: unknown): FakeMessage => {
    const m = q.find((x) => !x.deleted && x.receiptHandle === handle);
    if (!m) throw new SqsFault('com.amazonaws.sqs#ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', `The input receipt handle "${String(handle)}" is not a valid receipt handle.`);
    return m;
  };

  const handlers: Record<string, Handler> = {
    ReceiveMessage: (body) => {
      const q = queueOf(body);
      const max = Number(body.MaxNumberOfMessages ?? 1);
      const vt = Number(body.VisibilityTimeout ?? 30);
      const now = Date.now();
      const picked = q.filter((m) => !m.deleted && m.invisibleUntil <= now).slice(0, max);
      const wantAttributes = Array.isArray(body.MessageSystemAttributeNames) || Array.isArray(body.AttributeNames);
      return {
        Messages: picked.map((m) => {
          m.receiveCount++;
          m.invisibleUntil = now + vt * 1000;
          m.receiptHandle = `rh-${randomUUID()}`;
          const attrs = Object.entries(m.attributes);
          return {
            MessageId: m.messageId,
            ReceiptHandle: m.receiptHandle,
            MD5OfBody: createHash('md5').update(m.body, 'utf8').digest('hex'),
            Body: m.body,
            ...(wantAttributes ? { Attributes: { ApproximateReceiveCount: String(m.receiveCount), SentTimestamp: String(m.sentAt) } } : {}),
            ...(attrs.length > 0 ? { MessageAttributes: Object.fromEntries(attrs.map(([k, v]) => [k, { DataType: 'String', StringValue: v }])) } : {}),
          };
        }),
      };
    },
    SendMessage: (body) => {
      const q = queueOf(body);
      const text = String(body.MessageBody ?? '');
      if (text === '') throw new SqsFault('com.amazonaws.sqs#InvalidParameterValue', 'InvalidParameterValue', 'The request must contain the parameter MessageBody.');
      if (Buffer.byteLength(text, 'utf8') > 262_144) throw new SqsFault('com.amazonaws.sqs#InvalidParameterValue', 'InvalidParameterValue', 'One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.');
      const messageId = randomUUID();
      q.push({ messageId, body: text, attributes: {}, sentAt: Date.now(), receiveCount: 0, invisibleUntil: 0, deleted: false });
      return { MessageId: messageId, MD5OfMessageBody: createHash('md5').update(text, 'utf8').digest('hex') };
    },
    DeleteMessage: (body) => {
      const m = byHandle(queueOf(body), body.ReceiptHandle);
      m.deleted = true;
      return {};
    },
    ChangeMessageVisibility: (body) => {
      const m = byHandle(queueOf(body), body.ReceiptHandle);
      if (m.invisibleUntil <= Date.now()) throw new SqsFault('com.amazonaws.sqs#MessageNotInflight', 'AWS.SimpleQueueService.MessageNotInflight', 'Message is not in flight.');
      m.invisibleUntil = Date.now() + Number(body.VisibilityTimeout ?? 0) * 1000;
      return {};
    },
    GetQueueAttributes: (body) => {
      const q = queueOf(body).filter((m) => !m.deleted);
      const now = Date.now();
      return {
        Attributes: {
          ApproximateNumberOfMessages: String(q.filter((m) => m.invisibleUntil <= now).length),
          ApproximateNumberOfMessagesNotVisible: String(q.filter((m) => m.invisibleUntil > now).length),
        },
      };
    },
  };

  const fake: SqsFake = {
    url: '',
    calls,
    denyAccess: false,
    createQueue(name) {
      queues.set(`/000000000000/${name}`, []);
      return `${base}/000000000000/${name}`;
    },
    send(queueUrl, body, attributes = {}) {
      const q = queues.get(new URL(queueUrl).pathname);
      if (!q) throw new Error(`no queue ${queueUrl}`);
      const messageId = randomUUID();
      q.push({ messageId, body, attributes, sentAt: Date.now(), receiveCount: 0, invisibleUntil: 0, deleted: false });
      return messageId;
    },
    messages: (queueUrl) => (queues.get(new URL(queueUrl).pathname) ?? []).filter((m) => !m.deleted),
    visible: (queueUrl) => fake.messages(queueUrl).filter((m) => m.invisibleUntil <= Date.now()),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : target;
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        body = {};
      }
      calls.push({ operation, body, at: Date.now() });
      const reply = (status: number, doc: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID(), ...headers });
        res.end(JSON.stringify(doc));
      };
      try {
        if (req.headers['content-type'] !== 'application/x-amz-json-1.0') {
          throw new SqsFault('com.amazonaws.sqs#InvalidParameterValue', 'InvalidParameterValue', `expected content-type application/x-amz-json-1.0, got ${req.headers['content-type']}`);
        }
        if (fake.denyAccess) throw new SqsFault('com.amazon.coral.service#AccessDeniedException', 'AccessDenied;Sender', 'Access to the resource is denied.', 403);
        const handler = handlers[operation];
        if (!handler) throw new SqsFault('com.amazonaws.sqs#UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', `the fake does not speak ${target}`);
        reply(200, handler(body));
      } catch (err) {
        if (!(err instanceof SqsFault)) throw err;
        reply(err.status, { __type: err.type, message: err.message }, { 'x-amzn-query-error': err.queryCode.includes(';') ? err.queryCode : `${err.queryCode};Sender` });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.url = base;
  return fake;
}
