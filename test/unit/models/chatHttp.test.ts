import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { APIConnectionError, APIUserAbortError, InternalServerError, RateLimitError } from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterEach, describe, expect, it } from 'vitest';
import { chatAgents, chatOverHttp, MAX_ANSWER_BYTES } from '../../../shared/models/openai/chatHttp.ts';

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

  it('reaches a server on an IPv6 literal, with the Host header it names', async (ctx) => {
    let host: string | undefined;
    server = createServer((req, res) => {
      host = req.headers.host;
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(COMPLETION)));
    });
    const listening = await new Promise<boolean>((resolve) => {
      server!.once('error', () => resolve(false));
      server!.listen(0, '::1', () => resolve(true));
    });
    if (!listening) return ctx.skip('no IPv6 loopback on this machine');
    const port = (server.address() as AddressInfo).port;

    expect(await call(`http://[::1]:${port}/v1`)(BODY, new AbortController().signal)).toEqual(COMPLETION);
    expect(host).toBe(`[::1]:${port}`);
  });

  it('refuses an answer over the cap as a connection error and drops the connection, instead of holding it all in memory', async () => {
    let closed = false;
    const base = await serve((_req, _body, res) => {
      res.socket!.once('close', () => (closed = true));
      res.writeHead(200, { 'content-type': 'application/json' });
      // A server that never stops: 1 MiB chunks until the client hangs up.
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const more = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    });

    const err = await call(base)(BODY, new AbortController().signal).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(APIConnectionError);
    expect((err as Error).message).toContain(`over ${MAX_ANSWER_BYTES / 1024 / 1024} MiB`);
    await expect.poll(() => closed).toBe(true);
  });

  it('refuses a compressed answer that inflates past the cap', async () => {
    const bomb = gzipSync(Buffer.alloc(MAX_ANSWER_BYTES + 1024, 0x20));
    const base = await serve((_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(bomb));

    const err = await call(base)(BODY, new AbortController().signal).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(APIConnectionError);
    expect((err as Error).message).toContain(`over ${MAX_ANSWER_BYTES / 1024 / 1024} MiB`);
  });

  it('goes through the proxy HTTP_PROXY names when NODE_USE_ENV_PROXY=1, and straight to a host NO_PROXY lists', async () => {
    const base = await serve((_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(COMPLETION)));
    // A forward proxy for plain HTTP: it is sent the absolute URL and passes the request on.
    const proxied: string[] = [];
    const proxy = createServer((req, res) => {
      proxied.push(`${req.method} ${req.url}`);
      const upstream = httpRequest(req.url!, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const viaProxy = chatOverHttp({ baseURL: base, headers: {}, agents: chatAgents({ NODE_USE_ENV_PROXY: '1', HTTP_PROXY: proxyUrl }) });
      expect(await viaProxy(BODY, new AbortController().signal)).toEqual(COMPLETION);
      expect(proxied).toEqual([`POST ${base}chat/completions`]);

      const bypass = chatOverHttp({ baseURL: base, headers: {}, agents: chatAgents({ NODE_USE_ENV_PROXY: '1', HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' }) });
      expect(await bypass(BODY, new AbortController().signal)).toEqual(COMPLETION);
      expect(proxied).toHaveLength(1);

      // Without NODE_USE_ENV_PROXY the variables are not read, as with Node's own agents.
      const off = chatOverHttp({ baseURL: base, headers: {}, agents: chatAgents({ HTTP_PROXY: proxyUrl }) });
      expect(await off(BODY, new AbortController().signal)).toEqual(COMPLETION);
      expect(proxied).toHaveLength(1);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
