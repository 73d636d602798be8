import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfigError,
  InvalidEventError,
  MeshError,
  randomIds,
  systemClock,
  type Clock,
  type Envelope,
  type EventOutcome,
  type FailureRecord,
  type Ids,
  type Logger,
  silentLogger,
} from '../core/index.ts';
import {
  BATCH,
  decodeAny,
  decodeBinaryCloudEvent,
  decodeCloudEventBatch,
  asObject,
  decodePutEventsEntry,
  decodeStructuredCloudEvent,
  parseJson,
  STRUCTURED,
} from '../buses/index.ts';
import type { LocalMesh } from './createLocalMesh.ts';
import { outcomeToJson } from './outcomeJson.ts';
import { parseReplayRequest, replayForeignFailure, replayOne, type ReplayRequest } from './replayOne.ts';

export interface DevServerOptions {
  mesh: LocalMesh;
  port: number;
  host?: string;
  /** The region and account PutEvents stamps on events, as EventBridge does for its own. */
  region?: string;
  account?: string;
  ids?: Ids;
  clock?: Clock;
  logger?: Logger;
  /** Told of every processed event (the console prints it). */
  onOutcome?: (outcome: EventOutcome, via: string) => void;
  /**
   * Required as `Authorization: Bearer <token>` on `/_mesh/*` (all but health): another local
   * user or a web page cannot list events, replay or inject through the admin API. The
   * business-event ingress (PutEvents, CloudEvents) stays open, as EventBridge's is to IAM.
   */
  adminToken?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;
const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * The local ingress and admin API of `mesh dev`, on loopback only:
 * - `POST /` with `X-Amz-Target: AWSEvents.PutEvents` — the EventBridge API (AWS JSON 1.1);
 * - `POST /cloudevents` — CloudEvents structured, batched or binary mode;
 * - `/_mesh/*` — admin: ingest any event file, list events and failures (what the CLI uses
 *   while `mesh dev` holds the embedded store), behind `adminToken` when one is given.
 *
 * An ingress request answers after its events were processed: a success means the result
 * was published or the failure recorded in the ledger, so nothing acknowledged is lost.
 */
export class DevServer {
  private server: Server | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly ids: Ids;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly opts: DevServerOptions) {
    this.ids = opts.ids ?? randomIds;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
  }

  /** Start listening; resolves with the bound port (pass port 0 for a free one). */
  async listen(): Promise<number> {
    const server = createServer((req, res) => {
      const work = this.handle(req, res).catch((err: unknown) => this.sendError(res, err));
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** Stop accepting, finish every request in flight, then resolve. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await Promise.allSettled([...this.inFlight]);
    await closed;
  }

  /** Process envelopes one after another through the pipeline. */
  async ingest(envelopes: Envelope[], via: string): Promise<EventOutcome[]> {
    const outcomes: EventOutcome[] = [];
    for (const envelope of envelopes) {
      const outcome = await this.opts.mesh.pipeline.process(envelope);
      this.opts.onOutcome?.(outcome, via);
      outcomes.push(outcome);
    }
    return outcomes;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const target = req.headers['x-amz-target'];
    if (req.method === 'POST' && typeof target === 'string') return this.handleAws(target, req, res);
    if (req.method === 'POST' && url.pathname === '/cloudevents') return this.handleCloudEvents(req, res);
    if (url.pathname.startsWith('/_mesh/')) return this.handleAdmin(req, res, url);
    sendJson(res, 404, {
      error: 'NotFound',
      message: `nothing at ${req.method} ${url.pathname}; use POST / (PutEvents), POST /cloudevents, or GET /_mesh/health`,
    });
  }

  private async handleAws(target: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (target !== 'AWSEvents.PutEvents') {
      return sendAwsError(res, 400, 'UnknownOperationException', `mesh dev speaks AWSEvents.PutEvents only, not ${target}`);
    }
    const body = await readBody(req);
    let request: Record<string, unknown>;
    try {
      const parsed = parseJson(body.toString('utf8'), 'PutEvents request');
      if (parsed === null || typeof parsed !== 'object' || !Array.isArray((parsed as { Entries?: unknown }).Entries)) {
        throw new InvalidEventError('PutEvents request: expected {"Entries": [...]}');
      }
      request = parsed as Record<string, unknown>;
    } catch (err) {
      return sendAwsError(res, 400, 'ValidationException', (err as Error).message);
    }
    const entries = request.Entries as unknown[];
    if (entries.length === 0 || entries.length > PUT_EVENTS_MAX_ENTRIES) {
      return sendAwsError(res, 400, 'ValidationException', `Entries: PutEvents takes 1 to ${PUT_EVENTS_MAX_ENTRIES} entries, got ${entries.length}`);
    }
    const result: Array<{ EventId: string } | { ErrorCode: string; ErrorMessage: string }> = [];
    let failed = 0;
    for (const [i, entry] of entries.entries()) {
      try {
        const envelope = decodePutEventsEntry(
          entry,
          { id: this.ids.newId(), now: this.clock.now(), region: this.opts.region ?? 'us-east-1', account: this.opts.account ?? '000000000000' },
          `Entries[${i}]`,
        );
        await this.ingest([envelope], 'PutEvents');
        result.push({ EventId: envelope.event.id });
      } catch (err) {
        failed++;
        // Per-entry failure, as EventBridge reports it: the caller keeps the entry and can resend it.
        result.push({ ErrorCode: err instanceof InvalidEventError ? 'InvalidArgument' : 'InternalFailure', ErrorMessage: (err as Error).message });
      }
    }
    sendJson(res, 200, { FailedEntryCount: failed, Entries: result }, 'application/x-amz-json-1.1');
  }

  private async handleCloudEvents(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    const origin = { transport: 'http' as const, cloud: 'local' as const };
    let envelopes: Envelope[];
    try {
      if (contentType.startsWith(BATCH)) {
        envelopes = decodeCloudEventBatch(parseJson(body.toString('utf8'), 'batch'), origin);
      } else if (contentType.startsWith(STRUCTURED)) {
        envelopes = [decodeStructuredCloudEvent(parseJson(body.toString('utf8'), 'cloudevent'), origin)];
      } else if (req.headers['ce-specversion'] !== undefined) {
        envelopes = [decodeBinaryCloudEvent(req.headers, body, origin)];
      } else {
        throw new InvalidEventError(
          `not a CloudEvent: send Content-Type ${STRUCTURED} (structured), ${BATCH} (batch), or ce-specversion/ce-id/ce-source/ce-type headers (binary)`,
        );
      }
    } catch (err) {
      return sendJson(res, 400, errorJson(err));
    }
    const outcomes = await this.ingest(envelopes, 'CloudEvents');
    sendJson(res, 200, { outcomes: outcomes.map(outcomeToJson) });
  }

  private async handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { store, config, routes } = this.opts.mesh;
    const q = url.searchParams;
    const path = url.pathname;
    if (path !== '/_mesh/health' && this.opts.adminToken !== undefined && !sameToken(req.headers.authorization, this.opts.adminToken)) {
      return sendJson(res, 401, {
        error: 'Unauthorized',
        message: 'the admin API needs the token mesh dev wrote to dev.json in its MESH_HOME (readable by its user only); use the mesh command, which sends it',
      });
    }
    if (req.method === 'GET' && path === '/_mesh/health') {
      return sendJson(res, 200, { ok: true, pid: process.pid, routes: routes.map((r) => r.id), models: config.models.map((m) => m.id) });
    }
    if (req.method === 'POST' && path === '/_mesh/ingest') {
      const body = await readBody(req);
      let envelopes: Envelope[];
      try {
        envelopes = decodeAny(parseJson(body.toString('utf8'), 'file'), {
          sources: config.sources,
          putEvents: { id: this.ids.newId(), now: this.clock.now(), region: this.opts.region ?? 'us-east-1', account: this.opts.account ?? '000000000000' },
          httpOrigin: { transport: 'http', cloud: 'local' },
        });
      } catch (err) {
        return sendJson(res, 400, errorJson(err));
      }
      const outcomes = await this.ingest(envelopes, 'mesh emit');
      return sendJson(res, 200, { outcomes: outcomes.map(outcomeToJson) });
    }
    if (req.method === 'GET' && path === '/_mesh/events') {
      const kind = q.get('kind');
      const events = await store.events.listEvents({
        ...(kind === 'input' || kind === 'result' ? { kind } : {}),
        ...(q.get('route') ? { routeId: q.get('route')! } : {}),
        ...(q.get('after') ? { afterSeq: Number(q.get('after')) } : {}),
        ...(q.get('limit') ? { limit: Number(q.get('limit')) } : {}),
      });
      return sendJson(res, 200, { events });
    }
    if (req.method === 'GET' && path === '/_mesh/failed') {
      const status = q.get('status');
      const failures = await store.failures.listFailures({
        ...(q.get('route') ? { routeId: q.get('route')! } : {}),
        ...(q.get('error') ? { errorCode: q.get('error')! } : {}),
        ...(status === 'open' || status === 'resolved' ? { status } : {}),
        ...(q.get('since') ? { since: q.get('since')! } : {}),
        ...(q.get('until') ? { until: q.get('until')! } : {}),
        ...(q.get('limit') ? { limit: Number(q.get('limit')) } : {}),
      });
      return sendJson(res, 200, { failures });
    }
    if (req.method === 'POST' && path === '/_mesh/replay') {
      let request: ReplayRequest;
      try {
        request = parseReplayRequest(parseJson((await readBody(req)).toString('utf8'), 'replay request'));
      } catch (err) {
        return sendJson(res, 400, errorJson(err));
      }
      try {
        return sendJson(res, 200, { outcome: await replayOne(this.opts.mesh, request) });
      } catch (err) {
        // A route override that does not load is the caller's mistake, with file:line issues.
        if (err instanceof ConfigError) return sendJson(res, 400, { ...errorJson(err), issues: err.issues });
        throw err;
      }
    }
    if (req.method === 'POST' && path === '/_mesh/replay-event') {
      // A failure from another source (an SQS dead letter), replayed through this mesh's ledger.
      let body: { failure: FailureRecord; request: ReplayRequest };
      try {
        const parsed = asObject(parseJson((await readBody(req)).toString('utf8'), 'replay-event request'), 'replay-event request');
        const failure = asObject(parsed.failure, 'replay-event request.failure') as unknown as FailureRecord;
        if (typeof failure.id !== 'string' || typeof failure.eventId !== 'string' || failure.envelope === undefined) {
          throw new InvalidEventError('replay-event request.failure: expected a failure record with id, eventId and envelope');
        }
        body = { failure, request: parseReplayRequest({ ...asObject(parsed.request, 'replay-event request.request'), failureId: failure.id }) };
      } catch (err) {
        return sendJson(res, 400, errorJson(err));
      }
      return sendJson(res, 200, { outcome: await replayForeignFailure(this.opts.mesh, body.failure, body.request) });
    }
    const failed = /^\/_mesh\/failed\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && failed) {
      const record = await store.failures.getFailure(decodeURIComponent(failed[1]!));
      return record ? sendJson(res, 200, { failure: record }) : sendJson(res, 404, { error: 'NotFound', message: `no failure with id ${failed[1]}` });
    }
    sendJson(res, 404, { error: 'NotFound', message: `no admin endpoint ${req.method} ${path}` });
  }

  private sendError(res: ServerResponse, err: unknown): void {
    this.logger.error('request failed', { message: (err as Error).message });
    if (res.headersSent) return void res.end();
    const status = err instanceof BodyTooLarge ? 413 : 500;
    sendJson(res, status, errorJson(err));
  }
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function errorJson(err: unknown): Record<string, unknown> {
  if (err instanceof MeshError) return { error: err.code, message: err.message };
  return { error: 'Internal', message: (err as Error).message };
}

function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': crypto.randomUUID() });
  res.end(text);
}

/** AWS JSON 1.1 errors: the SDK reads the type from `__type` / `x-amzn-ErrorType`. */
function sendAwsError(res: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ __type: type, message });
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Constant-time comparison of `Bearer <token>` with the expected token. */
function sameToken(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
