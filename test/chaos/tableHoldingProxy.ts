import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/*
 * An HTTP/1.1 proxy in front of the Table Storage fake that forwards every request unchanged,
 * except one it is told to hold (a claim holder stalled in the middle of a write: a long GC
 * pause, a frozen instance). A request whose sender hung up while it was held never reaches
 * the table. Responses are relayed with their own framing (the fake answers chunked).
 */

/** One request as the proxy saw it. */
export interface TableRequest {
  method: string;
  /** Path and query as sent: `/devstoreaccount1/meshidempotency(PartitionKey='r',RowKey='e')`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The connection's ports when it was accepted: `HostIsolation.hostOf` names the sending host. */
  socket: { remotePort?: number | undefined; localPort?: number | undefined };
}

export interface TableHoldingProxy {
  /** Put in place of the fake's `http://127.0.0.1:<port>` in the connection string's TableEndpoint. */
  url: string;
  close(): Promise<void>;
}

/**
 * @example
 * const proxy = await startTableHoldingProxy(fakeOrigin, (req) => (req.method === 'PUT' ? { holdMs: 5_000, until: takenOver } : {}));
 */
export async function startTableHoldingProxy(origin: string, plan: (req: TableRequest) => { holdMs?: number; until?: Promise<unknown> }): Promise<TableHoldingProxy> {
  const upstream = new URL(origin);
  const ports = new WeakMap<Socket, { remotePort?: number | undefined; localPort?: number | undefined }>();
  const server = createServer((req, res) => {
    const socket = ports.get(req.socket) ?? { remotePort: req.socket.remotePort, localPort: req.socket.localPort };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const { holdMs, until } = plan({ method: req.method ?? '', path: req.url ?? '/', headers: req.headers, body: body.toString('utf8'), socket });
      void (async () => {
        if (holdMs) await Promise.race([new Promise((r) => setTimeout(r, holdMs)), ...(until ? [until.catch(() => undefined)] : [])]);
        if (req.socket.destroyed) return;
        const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (answer) => {
          if (res.destroyed) return void answer.resume();
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        });
        out.on('error', (err) => {
          if (!res.headersSent && !res.destroyed) res.writeHead(502).end(String(err));
        });
        out.end(body);
      })();
    });
  });
  server.on('connection', (s) => ports.set(s, { remotePort: s.remotePort, localPort: s.localPort }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
