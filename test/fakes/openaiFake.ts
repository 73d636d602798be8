import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { FakeReply, FakeUsage } from './bedrockFake.ts';

export type { FakeReply } from './bedrockFake.ts';

/*
 * A wire-level fake of the OpenAI Chat Completions API, for the real `openai` client, in
 * its three dialects: OpenAI (`/v1/chat/completions`, Bearer key), Azure OpenAI with a
 * dated api-version (`/openai/deployments/{d}/chat/completions?api-version=…`, `api-key`
 * header) and the Azure v1 base URL (`/openai/v1/chat/completions`). Requests are recorded
 * as they arrived; replies are scripted per test, in order.
 */

export interface OpenAIRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary wire fields
  body: any;
}

export interface OpenAIFake {
  /** `http://127.0.0.1:<port>`: append `/v1` for an OpenAI base URL; use as is for an Azure endpoint. */
  url: string;
  requests: OpenAIRequest[];
  /** Queue replies for the next calls; when the queue is empty the fake answers 500. */
  reply(...replies: (FakeReply | ((req: OpenAIRequest) => FakeReply))[]): void;
  close(): Promise<void>;
}

const CHAT_PATH = /^(\/v1|\/openai\/v1|\/openai\/deployments\/[^/]+)\/chat\/completions$/;

/**
 * Start the fake on a free port.
 *
 * @example
 * const fake = await startOpenAIFake();
 * fake.reply(openaiAnswer({ score: 7 }));
 * const client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
 */
export async function startOpenAIFake(): Promise<OpenAIFake> {
  const queue: (FakeReply | ((req: OpenAIRequest) => FakeReply))[] = [];
  const requests: OpenAIRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: OpenAIRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body: text === '' ? undefined : JSON.parse(text),
      };
      requests.push(recorded);
      const next = queue.shift();
      const reply: FakeReply =
        !CHAT_PATH.test(url.pathname) ? openaiError(404, { message: `no route ${req.method} ${url.pathname}`, type: 'invalid_request_error', code: 'not_found' })
        : next === undefined ? openaiError(500, { message: 'the fake has no scripted reply for this call', type: 'server_error' })
        : typeof next === 'function' ? next(recorded)
        : next;
      const send = () => {
        if (res.destroyed) return;
        const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', 'x-request-id': `req-${requests.length}`, ...reply.headers });
        res.end(body);
      };
      if (reply.delayMs) {
        const timer = setTimeout(send, reply.delayMs);
        res.on('close', () => clearTimeout(timer));
      } else send();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (...replies) => void queue.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A chat completion whose message content is `answer` (JSON-encoded unless already a string). */
export function openaiAnswer(answer: unknown, usage: FakeUsage = { inputTokens: 120, outputTokens: 30 }, finishReason = 'stop'): FakeReply {
  return {
    body: {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: 1_795_000_000,
      model: 'fake-model',
      choices: [{ index: 0, message: { role: 'assistant', content: typeof answer === 'string' ? answer : JSON.stringify(answer), refusal: null }, finish_reason: finishReason }],
      usage: { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens },
    },
  };
}

/** An OpenAI-style error body `{ error: { message, type, code } }` with a status and headers. */
export function openaiError(status: number, error: { message: string; type?: string; code?: string | null; [k: string]: unknown }, headers: Record<string, string> = {}): FakeReply {
  return { status, headers, body: { error: { type: null, code: null, param: null, ...error } } };
}

/** Azure's answer when its content filter blocks the prompt: 400, code content_filter, the categories that fired. */
export function azurePromptFiltered(category = 'violence'): FakeReply {
  return openaiError(400, {
    message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
    type: null as unknown as string,
    code: 'content_filter',
    param: 'prompt',
    status: 400,
    innererror: {
      code: 'ResponsibleAIPolicyViolation',
      content_filter_result: { [category]: { filtered: true, severity: 'high' }, hate: { filtered: false, severity: 'safe' } },
    },
  });
}

/** Azure's answer when the filter blocks the completion: 200, finish_reason content_filter, empty content. */
export function azureCompletionFiltered(category = 'hate'): FakeReply {
  const reply = openaiAnswer('', { inputTokens: 50, outputTokens: 0 }, 'content_filter');
  const body = reply.body as { choices: Record<string, unknown>[] };
  body.choices[0]!.content_filter_results = { [category]: { filtered: true, severity: 'medium' }, violence: { filtered: false, severity: 'safe' } };
  return reply;
}
