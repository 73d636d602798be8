import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { APIConnectionError, APIUserAbortError, InternalServerError, RateLimitError } from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterEach, describe, expect, it } from 'vitest';
import { chatAgents, chatOverHttp } from '../../../shared/models/openai/chatHttp.ts';

/* The openai provider's own Chat Completions call: what it sends, and the openai client's answers and errors it gives back. */

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
}

const BODY = { model: 'm', messages: [{ role: 'user', content: 'hi' }] } as ChatCompletionCreateParamsNonStreaming;
const COMPLETION = { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: '{}', refusal: null }, finish_reason: 'stop' }] };
const call = (baseURL: string) => chatOverHttp({ baseURL, headers: { authorization: 'Bearer sk-test', 'openai-project': 'p1' }, agents: chatAgents({}) });

describe('chatOverHttp', () => {
  it('posts the body as JSON to <base>/chat/completions with its headers and a length, and hands back the parsed completion', async () => {
    let seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string } | undefined;
    const base = await serve((req, body, res) => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(COMPLETION));
    });

    const completion = await call(base)(BODY, new AbortController().signal);

    expect(completion).toEqual(COMPLETION);
    expect(seen).toMatchObject({ method: 'POST', url: '/v1/chat/completions', body: JSON.stringify(BODY) });
    expect(seen!.headers).toMatchObject({ authorization: 'Bearer sk-test', 'openai-project': 'p1', 'content-type': 'application/json', 'content-length': String(JSON.stringify(BODY).length) });
  });

  it('hands on a gzip-compressed answer decompressed', async () => {
    const base = await serve((_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(JSON.stringify(COMPLETION))));

    expect(await call(base)(BODY, new AbortController().signal)).toEqual(COMPLETION);
  });

  it('rejects an error status with the openai client\'s error for it, the server\'s error body and headers on it', async () => {
    const base = await serve((_req, _body, res) =>
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after-ms': '1500', 'x-request-id': 'req-9' }).end(JSON.stringify({ error: { message: 'Rate limit reached', code: 'rate_limit_exceeded' } })),
    );

    const err = await call(base)(BODY, new AbortController().signal).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded', requestID: 'req-9', error: { message: 'Rate limit reached' } });
    expect((err as RateLimitError).headers?.get('Retry-After-Ms')).toBe('1500');
  });

  it('keeps a body that is not JSON as the error\'s message', async () => {
    const base = await serve((_req, _body, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>bad gateway</h1>'));

    const err = await call(base)(BODY, new AbortController().signal).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as Error).message).toContain('<h1>bad gateway</h1>');
  });

  it('rejects with a user abort when the signal aborts before the answer, and when it was aborted already', async () => {
    const base = await serve(() => {
      // Never answers.
    });
    const controller = new AbortController();
    const pending = call(base)(BODY, controller.signal);
    setTimeout(() => controller.abort(), 20);

    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
    await expect(call(base)(BODY, controller.signal)).rejects.toBeInstanceOf(APIUserAbortError);
  });

  it('rejects a server nobody listens on as a connection error', async () => {
    await expect(call('http://127.0.0.1:1/v1')(BODY, new AbortController().signal)).rejects.toBeInstanceOf(APIConnectionError);
  });

  it('reuses one connection for calls one after another', async () => {
    const ports = new Set<number>();
    const base = await serve((req, _body, res) => {
      ports.add(req.socket.remotePort!);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(COMPLETION));
    });
    const c = call(base);

    for (let i = 0; i < 3; i++) await c(BODY, new AbortController().signal);

    expect(ports.size).toBe(1);
  });
});
