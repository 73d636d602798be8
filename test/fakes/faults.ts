import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/*
 * Fault injection for chaos tests, kept out of the wire fakes themselves:
 * - deterministic randomness (a seeded generator, and a hash of a call's identity so a fault
 *   hits the same call whatever order concurrent calls arrive in);
 * - host isolation: every socket a simulated host (a Lambda container) opens is tagged with
 *   it, so killing the host cuts all of its I/O at once and for good, in flight or later;
 * - a PutEvents proxy in front of the EventBridge fake that fails chosen entries (as
 *   EventBridge answers throttled entries: 200 with FailedEntryCount and an ErrorCode), holds
 *   a call, or lets the test act right after the bus accepted a call (to kill its sender);
 * - a holding proxy for any other AWS JSON service (DynamoDB): a stalled host's request.
 */

/** A seeded generator of numbers in [0, 1) (mulberry32): the same seed, the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A number in [0, 1) fixed by its parts: `unitHash(seed, eventId, route, 3)` decides the 3rd call of that route on that event. */
export function unitHash(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0) / 4294967296;
}

export interface HostIsolation {
  /** Run `fn` as `host`: every socket opened from it (and from what it awaits) belongs to the host. */
  run<T>(host: string, fn: () => T): T;
  /** Kill the host: its open sockets are destroyed now, and any it opens later are destroyed at birth. */
  kill(host: string): void;
  isKilled(host: string): boolean;
  /**
   * The host whose client socket a server is talking to: `hostOf(req.socket)`. Keyed by both
   * ports, since one ephemeral port may serve connections to two different servers at once.
   */
  hostOf(serverSide: { remotePort?: number | undefined; localPort?: number | undefined }): string | undefined;
  /** Sockets destroyed because their host was dead. */
  readonly cut: number;
  close(): void;
}

/**
 * Tag sockets with the host that opened them, through the `net.client.socket` diagnostics
 * channel (published synchronously inside `net.connect`, so the async context is the caller's).
 * The SDK clients of one mesh keep their own connection pools, so a pooled socket is only
 * ever reused by the host that opened it.
 *
 * @example
 * const iso = createHostIsolation();
 * await iso.run('container-1', () => handler(event, context));
 * iso.kill('container-1'); // its sockets close; its next request fails with ECONNRESET
 * iso.hostOf(req.socket);   // on a server: 'container-1' for its connections
 */
export function createHostIsolation(): HostIsolation {
  const als = new AsyncLocalStorage<string>();
  const sockets = new Map<string, Set<Socket>>();
  const killed = new Set<string>();
  const ports = new Map<string, string>();
  let cut = 0;
  const onSocket = (message: unknown) => {
    const host = als.getStore();
    if (host === undefined) return;
    const socket = (message as { socket: Socket }).socket;
    if (killed.has(host)) {
      cut++;
      // At once, before it can connect and write (a deferred destroy lets a loopback connection
      // complete and the request go out first). No error object: the caller has not attached
      // its error listener yet; it sees a connection that closed (ECONNRESET, socket hang up).
      socket.destroy();
      return;
    }
    let set = sockets.get(host);
    if (!set) sockets.set(host, (set = new Set()));
    set.add(socket);
    // Kept after the socket closes: a request that left before its host died may reach the
    // server after, and must still be traced to it. A later socket on the same ports overwrites it.
    socket.once('connect', () => void ports.set(`${socket.localPort}>${socket.remotePort}`, host));
    socket.once('close', () => void set.delete(socket));
  };
  subscribe('net.client.socket', onSocket);
  return {
    run: (host, fn) => als.run(host, fn),
    kill(host) {
      killed.add(host);
      for (const socket of sockets.get(host) ?? []) {
        cut++;
        socket.destroy();
      }
      sockets.delete(host);
    },
    isKilled: (host) => killed.has(host),
    hostOf: (serverSide) => ports.get(`${serverSide.remotePort}>${serverSide.localPort}`),
    get cut() {
      return cut;
    },
    close: () => void unsubscribe('net.client.socket', onSocket),
  };
}

/** One PutEvents call as the proxy saw it. */
export interface ProxiedPutEvents {
  /** The connection's ports as the proxy sees them: `HostIsolation.hostOf` names the host that sent it. */
  socket: { remotePort?: number | undefined; localPort?: number | undefined };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- wire entries, read by the test
  entries: any[];
}

/** What the proxy does with a call. */
export interface PutEventsPlan {
  /** Hold the call this long before the bus sees it. */
  holdMs?: number;
  /** Entries (by index) the bus answers with this error instead of accepting them. */
  fail?: Map<number, { code: string; message: string }>;
  /** Called once the bus accepted the forwarded entries, before the answer goes back (kill the sender here). */
  accepted?: () => void;
}

export interface PutEventsFaultProxy {
  /** Give this to the client (AWS_ENDPOINT_URL_EVENTBRIDGE). */
  url: string;
  close(): Promise<void>;
}

/**
 * A PutEvents proxy in front of the EventBridge fake. Failed entries never reach the bus and
 * come back in place with their ErrorCode (FailedEntryCount counts them), as EventBridge
 * answers entries it throttled; the other entries are forwarded unchanged.
 *
 * @example
 * const proxy = await startPutEventsFaultProxy(bus.url, () => ({ fail: new Map([[0, { code: 'ThrottlingException', message: 'Rate exceeded' }]]) }));
 */
export async function startPutEventsFaultProxy(target: string, plan: (call: ProxiedPutEvents) => PutEventsPlan): Promise<PutEventsFaultProxy> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const socket = portsOf(req.socket);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks).toString('utf8'), socket).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'InternalException' });
          res.end(JSON.stringify({ __type: 'InternalException', message: String(err) }));
        }
      });
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse, body: string, socket: ProxiedPutEvents['socket']) => {
    const doc = JSON.parse(body || '{}') as { Entries?: unknown[] };
    const entries = doc.Entries ?? [];
    const p = plan({ socket, entries });
    if (p.holdMs) await new Promise((r) => setTimeout(r, p.holdMs));
    if (req.socket.destroyed) return; // the sender is gone: the call never reaches the bus
    const fail = p.fail ?? new Map();
    const forwarded = entries.filter((_, i) => !fail.has(i));
    let answer: { status: number; headers: Record<string, string>; body: string } | undefined;
    if (forwarded.length > 0) {
      answer = await forward(upstream, req, JSON.stringify({ ...doc, Entries: forwarded }));
      if (answer.status !== 200) return reply(res, answer.status, answer.headers, answer.body);
    }
    p.accepted?.();
    const upstreamEntries = answer ? ((JSON.parse(answer.body) as { Entries: unknown[] }).Entries ?? []) : [];
    let next = 0;
    let failed = 0;
    const out = entries.map((_, i) => {
      const f = fail.get(i);
      if (f) {
        failed++;
        return { ErrorCode: f.code, ErrorMessage: f.message };
      }
      const e = upstreamEntries[next++] as { ErrorCode?: string };
      if (e?.ErrorCode) failed++;
      return e;
    });
    reply(res, 200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': answer?.headers['x-amzn-requestid'] ?? 'proxy' }, JSON.stringify({ FailedEntryCount: failed, Entries: out }));
  };
  server.on('connection', rememberPorts);
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

// A connection's ports, read when it is accepted: once the sender is gone (killed after its
// request left) the socket no longer knows them, yet the request may still be served.
const acceptedPorts = new WeakMap<Socket, { remotePort?: number | undefined; localPort?: number | undefined }>();
function rememberPorts(socket: Socket): void {
  acceptedPorts.set(socket, { remotePort: socket.remotePort, localPort: socket.localPort });
}
function portsOf(socket: Socket): { remotePort?: number | undefined; localPort?: number | undefined } {
  return acceptedPorts.get(socket) ?? { remotePort: socket.remotePort, localPort: socket.localPort };
}

function reply(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function forward(upstream: URL, req: IncomingMessage, body: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k !== 'content-length' && k !== 'host' && k !== 'connection') headers[k] = String(v);
  headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 500,
          headers: Object.fromEntries(Object.entries(res.headers).filter(([k]) => k !== 'content-length').map(([k, v]) => [k, String(v)])),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    out.on('error', reject);
    out.end(body);
  });
}

/** One request as the holding proxy saw it. */
export interface ProxiedRequest {
  /** The connection's ports as the proxy sees them: `HostIsolation.hostOf` names the host that sent it. */
  socket: { remotePort?: number | undefined; localPort?: number | undefined };
  /** The `x-amz-target` header (`DynamoDB_20120810.UpdateItem`, …). */
  target: string;
  body: string;
}

export interface HoldingProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * An HTTP/1.1 proxy that forwards every request unchanged, except that it can hold one before
 * the service sees it (a host stalled in the middle of a call: a long GC pause, a frozen
 * container, a congested link). A request whose sender hung up while held never arrives.
 *
 * @example
 * const proxy = await startHoldingProxy(dynamo.url, (req) => (req.target.endsWith('.UpdateItem') ? { holdMs: 4000, until: takenOver } : {}));
 */
export async function startHoldingProxy(target: string, plan: (req: ProxiedRequest) => { holdMs?: number; until?: Promise<unknown> }): Promise<HoldingProxy> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const socket = portsOf(req.socket);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const { holdMs, until } = plan({ socket, target: String(req.headers['x-amz-target'] ?? ''), body });
      const go = async () => {
        // Held for holdMs, or until `until` settles when that comes first.
        if (holdMs) await Promise.race([new Promise((r) => setTimeout(r, holdMs)), ...(until ? [until.catch(() => undefined)] : [])]);
        if (req.socket.destroyed) return;
        const answer = await forward(upstream, req, body);
        reply(res, answer.status, answer.headers, answer.body);
      };
      go().catch((err: unknown) => reply(res, 500, { 'content-type': 'application/x-amz-json-1.0' }, JSON.stringify({ __type: 'InternalServerError', message: String(err) })));
    });
  });
  server.on('connection', rememberPorts);
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
