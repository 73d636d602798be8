import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { httpFetch } from '../../../shared/models/openai/httpFetch.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('httpFetch', () => {
  it('sends the method, headers and body, and answers with the status, headers and body as fetch does', async () => {
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req-1' });
        res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body }));
      });
    });

    const res = await httpFetch({})(`${url}/v1/chat/completions`, { method: 'POST', headers: new Headers({ authorization: 'Bearer k' }), body: '{"a":1}' });

    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('req-1');
    expect(await res.json()).toEqual({ method: 'POST', auth: 'Bearer k', body: '{"a":1}' });
  });

  it('answers what fetch answers for the same reply: status, ok, headers by any case and in order, the text once, a clone, the body as a stream', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(429, 'Too Many Requests', { 'Retry-After': '3', 'X-Request-Id': 'req-2', 'content-type': 'application/json; charset=utf-8' });
      res.end('\ufeff{"error":{"message":"slow down"}}');
    });

    const ours = await httpFetch({})(url, { method: 'POST', body: '{}' });
    const theirs = await fetch(url, { method: 'POST', body: '{}' });

    const view = async (r: Response) => ({
      status: r.status,
      ok: r.ok,
      statusText: r.statusText,
      retryAfter: r.headers.get('RETRY-AFTER'),
      hasRequestId: r.headers.has('x-request-id'),
      missing: r.headers.get('x-missing'),
      names: [...r.headers.keys()].filter((n) => n !== 'date' && n !== 'connection' && n !== 'keep-alive' && n !== 'transfer-encoding'),
      clone: await r.clone().text(),
      text: await r.text(),
      readAgain: await r.text().then(
        () => 'read',
        (err: unknown) => (err as Error).name,
      ),
    });
    const seen = await view(ours);
    expect(seen).toEqual(await view(theirs));
    expect(seen).toMatchObject({ status: 429, ok: false, retryAfter: '3', readAgain: 'TypeError' });

    // A member the client reads rarely (the body as a stream) still works, from the same bytes.
    const again = await httpFetch({})(url, { method: 'POST', body: '{}' });
    expect(await new Response(again.body).text()).toBe('{"error":{"message":"slow down"}}');
  });

  it('hands on a gzip-compressed answer decompressed, as fetch does', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync('{"ok":true}'));
    });

    const res = await httpFetch({})(url);

    expect(await res.json()).toEqual({ ok: true });
  });

  it('rejects with an AbortError when the signal aborts before the answer', async () => {
    const url = await serve(() => {
      // never answers
    });
    const controller = new AbortController();
    const pending = httpFetch({})(url, { method: 'POST', body: 'x', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);

    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('reuses one connection for calls one after another', async () => {
    const ports = new Set<number>();
    const url = await serve((req, res) => {
      ports.add(req.socket.remotePort!);
      res.end('ok');
    });
    const f = httpFetch({});

    for (let i = 0; i < 3; i++) await (await f(url)).text();

    expect(ports.size).toBe(1);
  });
});
