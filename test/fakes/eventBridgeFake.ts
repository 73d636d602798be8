import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A wire-level fake of EventBridge PutEvents for the real EventBridgeClient: AWS JSON 1.1
 * (`X-Amz-Target: AWSEvents.PutEvents`, `application/x-amz-json-1.1`, errors as `__type`).
 * Every call is recorded as it arrived; tests script per-entry failures (a partial failure)
 * or whole-call errors. Entries that are not failed are accepted and kept, per bus.
 */

/** One entry as it arrived on the wire (Time as the SDK sent it: epoch seconds). */
export interface WireEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName?: string;
  Resources?: string[];
  TraceHeader?: string;
  Time?: number;
}

export interface PutEventsCall {
  entries: WireEntry[];
  /** Lower-cased header names. */
  headers: Record<string, string>;
}

/** Per entry: undefined accepts it, an object fails it with that code and message. */
export type EntryFailure = { code: string; message?: string } | undefined;

/** What the next call does: fail some entries, or fail the whole call. */
export type CallScript = ((entries: WireEntry[]) => EntryFailure[]) | { status: number; type: string; message?: string };

export interface EventBridgeFake {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL_EVENTBRIDGE or the client's `endpoint`. */
  url: string;
  calls: PutEventsCall[];
  /** Accepted entries, in order. */
  accepted: WireEntry[];
  /** Queue scripts for the next calls; with none queued every entry is accepted. */
  script(...scripts: CallScript[]): void;
  close(): Promise<void>;
}

/**
 * Start the fake on a free port.
 *
 * @example
 * const fake = await startEventBridgeFake();
 * fake.script((entries) => entries.map((_, i) => (i === 0 ? { code: 'ThrottlingException' } : undefined)));
 * // … new EventBridgeClient({ endpoint: fake.url, region: 'us-east-1', … }) …
 * await fake.close();
 */
export async function startEventBridgeFake(): Promise<EventBridgeFake> {
  const calls: PutEventsCall[] = [];
  const accepted: WireEntry[] = [];
  const queue: CallScript[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const target = req.headers['x-amz-target'];
    if (target !== 'AWSEvents.PutEvents') return sendError(res, 400, 'UnknownOperationException', `the fake speaks AWSEvents.PutEvents only, not ${String(target)}`);
    const request = JSON.parse(body) as { Entries?: WireEntry[] };
    const entries = request.Entries ?? [];
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    calls.push({ entries, headers });
    if (entries.length < 1 || entries.length > 10) return sendError(res, 400, 'ValidationException', `1 validation error detected: Entries must have length between 1 and 10, got ${entries.length}`);
    const script = queue.shift();
    if (script && typeof script !== 'function') return sendError(res, script.status, script.type, script.message ?? script.type);
    const failures = script ? script(entries) : [];
    let failed = 0;
    const out = entries.map((entry, i) => {
      const f = failures[i];
      if (f) {
        failed++;
        return { ErrorCode: f.code, ErrorMessage: f.message ?? f.code };
      }
      accepted.push(entry);
      return { EventId: randomUUID() };
    });
    send(res, 200, { FailedEntryCount: failed, Entries: out });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    accepted,
    script: (...scripts) => void queue.push(...scripts),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ __type: type, message });
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
  res.end(text);
}
