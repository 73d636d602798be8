import { createServer, type Http2Server, type Http2Session, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';

/*
 * A wire-level fake of the Bedrock runtime Converse API, for the real BedrockRuntimeClient.
 * That client speaks HTTP/2 by default, so this is a cleartext HTTP/2 (h2c) server: the
 * client connects with prior knowledge when given an `http://` endpoint. Requests are
 * recorded as they arrived; replies are scripted per test, in order.
 */

/** One scripted reply: a status, headers, a JSON (or raw string) body, an optional delay. */
export interface FakeReply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait this long before answering (a client that aborts first never sees the answer). */
  delayMs?: number;
}

export interface BedrockRequest {
  method: string;
  path: string;
  /** The model id from `/model/{modelId}/converse`, URL-decoded. */
  modelId: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary wire fields
  body: any;
  httpVersion: string;
}

export interface BedrockFake {
  /** `http://127.0.0.1:<port>`: give it to the client as `endpoint` or AWS_ENDPOINT_URL_BEDROCK_RUNTIME. */
  url: string;
  requests: BedrockRequest[];
  /** Queue replies for the next calls; when the queue is empty the fake answers 500. */
  reply(...replies: (FakeReply | ((req: BedrockRequest) => FakeReply))[]): void;
  close(): Promise<void>;
}

/**
 * Start the fake on a free port.
 *
 * @example
 * const fake = await startBedrockFake();
 * fake.reply(bedrockToolAnswer({ score: 7 }));
 * // … new BedrockRuntimeClient({ endpoint: fake.url, … }) …
 * await fake.close();
 */
export async function startBedrockFake(): Promise<BedrockFake> {
  const queue: (FakeReply | ((req: BedrockRequest) => FakeReply))[] = [];
  const requests: BedrockRequest[] = [];
  const sessions = new Set<Http2Session>();
  const server: Http2Server = createServer();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const match = /^\/model\/([^/]+)\/converse$/.exec(req.url.split('?')[0] ?? '');
      const recorded: BedrockRequest = {
        method: req.method,
        path: req.url,
        modelId: match ? decodeURIComponent(match[1]!) : '',
        headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(':')).map(([k, v]) => [k, String(v)])),
        body: text === '' ? undefined : JSON.parse(text),
        httpVersion: req.httpVersion,
      };
      requests.push(recorded);
      const next = queue.shift();
      const reply: FakeReply =
        !match ? bedrockError(404, 'UnknownOperationException', `no route ${req.method} ${req.url}`)
        : next === undefined ? bedrockError(500, 'InternalServerException', 'the fake has no scripted reply for this call')
        : typeof next === 'function' ? next(recorded)
        : next;
      const send = () => {
        if (res.closed || res.destroyed) return;
        const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', 'x-amzn-requestid': `req-${requests.length}`, ...reply.headers });
        res.end(body);
      };
      if (reply.delayMs) {
        const timer = setTimeout(send, reply.delayMs);
        res.on('close', () => clearTimeout(timer));
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (...replies) => void queue.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface FakeUsage {
  inputTokens: number;
  outputTokens: number;
}

/** A Converse answer whose content is a call of the forced tool with `input` as arguments. */
export function bedrockToolAnswer(input: unknown, usage: FakeUsage = { inputTokens: 120, outputTokens: 30 }, toolName = 'answer'): FakeReply {
  return converse([{ toolUse: { toolUseId: 'tooluse_fake_1', name: toolName, input } }], 'tool_use', usage);
}

/** A Converse answer with plain text content (a model that ignored the tool). */
export function bedrockTextAnswer(text: string, usage: FakeUsage = { inputTokens: 120, outputTokens: 30 }, stopReason = 'end_turn'): FakeReply {
  return converse([{ text }], stopReason, usage);
}

function converse(content: unknown[], stopReason: string, usage: FakeUsage): FakeReply {
  return {
    body: {
      output: { message: { role: 'assistant', content } },
      stopReason,
      usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
      metrics: { latencyMs: 321 },
    },
  };
}

/** An AWS JSON error: typed by the `x-amzn-errortype` header, as the service sends it. */
export function bedrockError(status: number, type: string, message: string, headers: Record<string, string> = {}): FakeReply {
  return {
    status,
    headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, ...headers },
    body: { message },
  };
}
