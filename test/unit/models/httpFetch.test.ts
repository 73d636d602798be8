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
