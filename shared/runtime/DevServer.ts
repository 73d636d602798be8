import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApprovalConflictError,
  ApprovalNotFoundError,
  ConfigError,
  InvalidEventError,
  parseTraceparent,
  parseXrayTraceHeader,
  randomIds,
  systemClock,
  type Clock,
  type Envelope,
  type EventOutcome,
  type FailureRecord,
  type Ids,
  type Logger,
  type TraceContext,
  silentLogger,
} from '../core/index.ts';
import {
  BATCH,
  checkAttribute,
  decodeAny,
  decodeBinaryCloudEvent,
  decodeCloudEventBatch,
  decodeUtf8,
  asObject,
  decodePutEventsEntry,
  decodeStructuredCloudEvent,
  mediaType,
  parseJson,
  STRUCTURED,
} from '../buses/index.ts';
import { readUsageReport } from '../placement/index.ts';
import type { LocalMesh } from './createLocalMesh.ts';
import { allowedHosts, checkHost, classify, decodePathSegment, RequestError, requestUrl, sendAwsError, sendJson, sendProblem } from './httpProblems.ts';
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
  /** Told of every request that failed on the mesh's side (a 500): the console prints it. */
  onInternalError?: (err: unknown, request: string) => void;
  /**
   * Required as `Authorization: Bearer <token>` on `/_mesh/*` (all but health): another local
   * user or a web page cannot list events, replay or inject through the admin API. The
   * business-event ingress (PutEvents, CloudEvents) stays open, as EventBridge's is to IAM.
   */
  adminToken?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;
const PUT_EVENTS_MAX_ENTRIES = 10;
/** One event, as EventBridge limits a PutEvents entry (and the mesh a CloudEvent): 256 KB. */
export const MAX_EVENT_BYTES = 256 * 1024;
const AWS_JSON = 'application/x-amz-json-1.1';

/**
 * The local ingress and admin API of `mesh dev`, on loopback only:
 * - `POST /` with `X-Amz-Target: AWSEvents.PutEvents` — the EventBridge API (AWS JSON 1.1);
 * - `POST /cloudevents` — CloudEvents structured, batched or binary mode;
 * - `/_mesh/*` — admin: ingest any event file, list events and failures (what the CLI uses
 *   while `mesh dev` holds the embedded store), behind `adminToken` when one is given.
 *
 * An ingress request answers after its events were processed: a success means the result
 * was published or the failure recorded in the ledger, so nothing acknowledged is lost. A
 * request whose client left stops: its signal aborts the pipeline work still running.
 * Requests naming another Host are refused (DNS rebinding); malformed ones are 4xx with a
 * code that says not to retry.
 */
export class DevServer {
  private server: Server | undefined;
  private port = 0;
  private hosts: ReadonlySet<string> = new Set();
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
      const aws = req.method === 'POST' && typeof req.headers['x-amz-target'] === 'string';
      // The client leaving (a closed connection before the answer) aborts what the request still runs.
      const left = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) left.abort(new Error('the client closed the connection'));
      });
      const work = this.handle(req, res, left.signal).catch((err: unknown) => this.sendError(req, res, err, aws));
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.hosts = allowedHosts(this.port, this.opts.host && this.opts.host !== '127.0.0.1' ? [this.opts.host] : []);
    return this.port;
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

  /**
   * Process envelopes one after another through the pipeline; stops at the first one after
   * `signal` aborts. `trace` is the request's trace context, for events that carry none.
   */
  async ingest(envelopes: Envelope[], via: string, signal?: AbortSignal, trace?: TraceContext): Promise<EventOutcome[]> {
    const outcomes: EventOutcome[] = [];
    for (const envelope of envelopes) {
      if (signal?.aborted) break;
      const outcome = await this.opts.mesh.pipeline.process(envelope, { ...(signal ? { signal } : {}), ...(trace ? { trace } : {}) });
      this.opts.onOutcome?.(outcome, via);
      outcomes.push(outcome);
    }
    return outcomes;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    checkHost(req, this.hosts);
    const target = req.headers['x-amz-target'];
    if (req.method === 'POST' && typeof target === 'string') return this.handleAws(target, req, res, signal);
    const url = requestUrl(req.url);
    if (req.method === 'POST' && url.pathname === '/cloudevents') return this.handleCloudEvents(req, res, signal);
    if (url.pathname.startsWith('/_mesh/')) return this.handleAdmin(req, res, url, signal);
    sendProblem(res, 404, 'NotFound', `nothing at ${req.method} ${url.pathname}; use POST / (PutEvents), POST /cloudevents, or GET /_mesh/health`);
  }

  private async handleAws(target: string, req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    if (target !== 'AWSEvents.PutEvents') {
      return sendAwsError(res, 400, 'UnknownOperationException', `mesh dev speaks AWSEvents.PutEvents only, not ${target}`);
    }
    const type = mediaType(req.headers['content-type']);
    if (type !== AWS_JSON) {
      throw new RequestError(415, 'UnsupportedMediaType', `PutEvents takes Content-Type ${AWS_JSON}, got ${JSON.stringify(type ?? '')}`, 'UnsupportedMediaTypeException');
    }
    const request = asPutEventsRequest(parseJson(decodeUtf8(await readBody(req), 'PutEvents request'), 'PutEvents request'));
    const entries = request.Entries;
    if (entries.length === 0 || entries.length > PUT_EVENTS_MAX_ENTRIES) {
      throw new RequestError(400, 'InvalidEvent', `Entries: PutEvents takes 1 to ${PUT_EVENTS_MAX_ENTRIES} entries, got ${entries.length}`);
    }
    // As EventBridge: an entry over the limit fails the whole call, before any entry is processed.
    for (const [i, entry] of entries.entries()) {
      const size = putEventsEntryBytes(entry);
      if (size > MAX_EVENT_BYTES) {
        throw new RequestError(400, 'InvalidEvent', `Entries[${i}]: the entry is ${size} bytes; EventBridge takes at most ${MAX_EVENT_BYTES} bytes per entry (Source, DetailType, Detail and Resources counted)`);
      }
    }
    const result: Array<{ EventId: string } | { ErrorCode: string; ErrorMessage: string }> = [];
    let failed = 0;
    for (const [i, entry] of entries.entries()) {
      let envelope: Envelope;
      try {
        envelope = decodePutEventsEntry(
          entry,
          { id: this.ids.newId(), now: this.clock.now(), region: this.opts.region ?? 'us-east-1', account: this.opts.account ?? '000000000000' },
          `Entries[${i}]`,
        );
      } catch (err) {
        failed++;
        // Per-entry failure, as EventBridge reports it: InvalidArgument is not worth resending as is.
        result.push({ ErrorCode: err instanceof InvalidEventError ? 'InvalidArgument' : 'InternalFailure', ErrorMessage: (err as Error).message });
        continue;
      }
      try {
        await this.ingest([envelope], 'PutEvents', signal, requestTrace(req));
        result.push({ EventId: envelope.event.id });
      } catch (err) {
        failed++;
        // The mesh's own fault (its store): retryable, and printed where the developer looks.
        this.internalError(err, `PutEvents Entries[${i}]`);
        result.push({ ErrorCode: 'InternalFailure', ErrorMessage: `mesh dev failed to process the entry (${classify(err).code}); see its console` });
      }
    }
    sendJson(res, 200, { FailedEntryCount: failed, Entries: result }, AWS_JSON);
  }

  private async handleCloudEvents(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const type = mediaType(req.headers['content-type']);
    const origin = { transport: 'http' as const, cloud: 'local' as const };
    const binary = req.headers['ce-specversion'] !== undefined;
    if (type !== BATCH && type !== STRUCTURED && !binary) {
      throw new RequestError(
        415,
        'UnsupportedMediaType',
        `not a CloudEvent (Content-Type ${JSON.stringify(type ?? '')}): send Content-Type ${STRUCTURED} (structured), ${BATCH} (batch), or ce-specversion/ce-id/ce-source/ce-type headers (binary)`,
      );
    }
    const body = await readBody(req);
    let envelopes: Envelope[];
    if (type === BATCH) {
      const items = parseJson(decodeUtf8(body, 'batch'), 'batch');
      if (Array.isArray(items)) items.forEach((item, i) => checkEventSize(Buffer.byteLength(JSON.stringify(item)), `batch[${i}]`));
      envelopes = decodeCloudEventBatch(items, origin);
    } else if (type === STRUCTURED) {
      checkEventSize(body.length, 'cloudevent');
      envelopes = [decodeStructuredCloudEvent(parseJson(decodeUtf8(body, 'cloudevent'), 'cloudevent'), origin)];
    } else {
      const headerBytes = Object.entries(req.headers).reduce((n, [k, v]) => n + (k.startsWith('ce-') ? Buffer.byteLength(String(v)) : 0), 0);
      checkEventSize(body.length + headerBytes, 'cloudevent (binary mode)');
      envelopes = [decodeBinaryCloudEvent(req.headers, body, origin)];
    }
    const outcomes = await this.ingest(envelopes, 'CloudEvents', signal, requestTrace(req));
    sendJson(res, 200, { outcomes: outcomes.map(outcomeToJson) });
  }

  private async handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL, signal: AbortSignal): Promise<void> {
    const { store, config, routes } = this.opts.mesh;
    const q = url.searchParams;
    const path = url.pathname;
    const authorized = this.opts.adminToken === undefined || sameToken(req.headers.authorization, this.opts.adminToken);
    if (req.method === 'GET' && path === '/_mesh/health') {
      // Open, so the mesh command can find a running dev; the details only for the token's holder.
      return sendJson(res, 200, authorized ? { status: 'ok', pid: process.pid, routes: routes.map((r) => r.id), models: config.models.map((m) => m.id) } : { status: 'ok' });
    }
    if (!authorized) {
      return sendProblem(
        res,
        401,
        'Unauthorized',
        'the admin API needs the token mesh dev wrote to dev.json in its MESH_HOME (readable by its user only); use the mesh command, which sends it',
      );
    }
    if (req.method === 'POST' && path === '/_mesh/ingest') {
      const envelopes = decodeAny(parseJson(decodeUtf8(await readBody(req), 'file'), 'file'), {
        sources: config.sources,
        putEvents: { id: this.ids.newId(), now: this.clock.now(), region: this.opts.region ?? 'us-east-1', account: this.opts.account ?? '000000000000' },
        httpOrigin: { transport: 'http', cloud: 'local' },
      });
      const outcomes = await this.ingest(envelopes, 'mesh emit', signal);
      return sendJson(res, 200, { outcomes: outcomes.map(outcomeToJson) });
    }
    if (req.method === 'GET' && path === '/_mesh/events') {
      const kind = oneOf(q, 'kind', ['input', 'result'] as const);
      const route = q.get('route');
      const after = wholeNumber(q, 'after');
      const limit = wholeNumber(q, 'limit');
      const events = await store.events.listEvents({
        ...(kind ? { kind } : {}),
        ...(route ? { routeId: route } : {}),
        ...(after === undefined ? {} : { afterSeq: after }),
        ...(limit === undefined ? {} : { limit }),
      });
      return sendJson(res, 200, { events });
    }
    if (req.method === 'GET' && path === '/_mesh/usage') {
      // Route budgets and endpoint limits in their current windows (`mesh explain` shows them).
      return sendJson(res, 200, { usage: await readUsageReport(config, routes, this.opts.mesh.counters, this.clock.now().getTime()) });
    }
    if (req.method === 'GET' && path === '/_mesh/failed') {
      const status = oneOf(q, 'status', ['open', 'resolved'] as const);
      const since = timestamp(q, 'since');
      const until = timestamp(q, 'until');
      const limit = wholeNumber(q, 'limit');
      const failures = await store.failures.listFailures({
        ...(q.get('route') ? { routeId: q.get('route')! } : {}),
        ...(q.get('error') ? { errorCode: q.get('error')! } : {}),
        ...(status ? { status } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(limit === undefined ? {} : { limit }),
      });
      return sendJson(res, 200, { failures });
    }
    if (req.method === 'POST' && path === '/_mesh/replay') {
      const request = parseReplayRequest(parseJson(decodeUtf8(await readBody(req), 'replay request'), 'replay request'));
      try {
        return sendJson(res, 200, { outcome: await replayOne(this.opts.mesh, request) });
      } catch (err) {
        // A route override that does not load is the caller's mistake, with file:line issues.
        if (err instanceof ConfigError) return sendProblem(res, 400, err.code, err.message, { issues: err.issues });
        throw err;
      }
    }
    if (req.method === 'POST' && path === '/_mesh/replay-event') {
      // A failure from another source (an SQS dead letter), replayed through this mesh's ledger.
      const parsed = asObject(parseJson(decodeUtf8(await readBody(req), 'replay-event request'), 'replay-event request'), 'replay-event request');
      const failure = asObject(parsed.failure, 'replay-event request.failure') as unknown as FailureRecord;
      if (typeof failure.id !== 'string' || typeof failure.eventId !== 'string' || failure.envelope === undefined) {
        throw new InvalidEventError('replay-event request.failure: expected a failure record with id, eventId and envelope');
      }
      const request: ReplayRequest = parseReplayRequest({ ...asObject(parsed.request, 'replay-event request.request'), failureId: failure.id });
      return sendJson(res, 200, { outcome: await replayForeignFailure(this.opts.mesh, failure, request) });
    }
    if (req.method === 'GET' && path === '/_mesh/audit') {
      const { audit } = this.opts.mesh;
      if (!audit) return sendProblem(res, 404, 'NotFound', 'this mesh keeps no audit trail');
      const since = timestamp(q, 'since');
      const limit = wholeNumber(q, 'limit');
      const entries = await audit.listAudit({
        ...(q.get('route') ? { routeId: q.get('route')! } : {}),
        ...(since ? { since: new Date(since).toISOString() } : {}),
        ...(limit === undefined ? {} : { limit }),
      });
      return sendJson(res, 200, { audit: entries });
    }
    if (path === '/_mesh/approvals' || path.startsWith('/_mesh/approvals/')) return this.handleApprovals(req, res, url);
    const failed = /^\/_mesh\/failed\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && failed) {
      const id = checkAttribute(decodePathSegment(failed[1]!, 'failure id'), 'failure id');
      const record = await store.failures.getFailure(id);
      return record ? sendJson(res, 200, { failure: record }) : sendProblem(res, 404, 'NotFound', `no failure with id ${JSON.stringify(id)}`);
    }
    sendProblem(res, 404, 'NotFound', `no admin endpoint ${req.method} ${path}`);
  }

  /**
   * `GET /_mesh/approvals` lists held results; `POST /_mesh/approvals/<id>/approve` (`{ actor }`)
   * and `…/reject` (`{ actor, reason }`) decide one. An unknown id is 404, a contradicting
   * decision 409, each with the desk's message.
   */
  private async handleApprovals(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const desk = this.opts.mesh.pipeline.approvals;
    if (!desk) return sendProblem(res, 404, 'NotFound', 'this mesh keeps no held results');
    const q = url.searchParams;
    if (req.method === 'GET' && url.pathname === '/_mesh/approvals') {
      const status = oneOf(q, 'status', ['pending', 'approved', 'rejected'] as const);
      const limit = wholeNumber(q, 'limit');
      const approvals = await desk.list({ ...(status ? { status } : {}), ...(q.get('route') ? { routeId: q.get('route')! } : {}), ...(limit === undefined ? {} : { limit }) });
      return sendJson(res, 200, { approvals });
    }
    const decide = /^\/_mesh\/approvals\/([^/]+)\/(approve|reject)$/.exec(url.pathname);
    if (req.method !== 'POST' || !decide) return sendProblem(res, 404, 'NotFound', `no admin endpoint ${req.method} ${url.pathname}`);
    const id = checkAttribute(decodePathSegment(decide[1]!, 'result id'), 'result id');
    const body = asObject(parseJson(decodeUtf8(await readBody(req), 'approval request'), 'approval request'), 'approval request');
    const actor = typeof body.actor === 'string' && body.actor !== '' ? body.actor : undefined;
    if (!actor) throw new RequestError(400, 'BadRequest', 'approval request.actor: expected who decides');
    try {
      const outcome = decide[2] === 'approve' ? await desk.approve(id, actor) : await desk.reject(id, actor, typeof body.reason === 'string' ? body.reason : '');
      return sendJson(res, 200, { outcome });
    } catch (err) {
      if (err instanceof ApprovalNotFoundError) return sendProblem(res, 404, err.code, err.message);
      if (err instanceof ApprovalConflictError) return sendProblem(res, 409, err.code, err.message);
      throw err;
    }
  }

  private sendError(req: IncomingMessage, res: ServerResponse, err: unknown, aws: boolean): void {
    const problem = classify(err);
    if (problem.internal) this.internalError(err, `${req.method} ${req.url}`);
    if (res.headersSent || res.destroyed) return void res.end();
    // A body left unread (over the cap) is not worth reading: the connection closes after the answer.
    if (problem.status === 413) res.setHeader('connection', 'close');
    // Internal details (a store path, a stack) stay on the console; the caller learns it was ours.
    const message = problem.internal ? `mesh dev failed on its side (${problem.code}); the details are on its console` : problem.message;
    if (aws) return sendAwsError(res, problem.status, problem.awsType, message);
    sendProblem(res, problem.status, problem.code, message);
  }

  private internalError(err: unknown, request: string): void {
    this.logger.error('request failed', { request, message: (err as Error).message });
    this.opts.onInternalError?.(err, request);
  }
}

/**
 * The trace context of the HTTP request itself (W3C `traceparent`, else the `X-Amzn-Trace-Id`
 * an AWS SDK with X-Ray sends): the parent of events that carry no context of their own.
 */
function requestTrace(req: IncomingMessage): TraceContext | undefined {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  return parseTraceparent(one(req.headers.traceparent), one(req.headers.tracestate)) ?? parseXrayTraceHeader(one(req.headers['x-amzn-trace-id']));
}

/** How much of a body over the cap is read and thrown away, so the client sees the 413 rather than a reset while it is still writing. */
const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  const tooLarge = () =>
    new RequestError(413, 'PayloadTooLarge', `request body over ${MAX_BODY_BYTES} bytes (1 MiB), the most mesh dev reads; send fewer or smaller events per request`, 'RequestEntityTooLargeException');
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    let over = Number.isFinite(declared) && declared > MAX_BODY_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) over = true;
      if (!over) chunks.push(chunk);
      else chunks.length = 0;
      // A client that keeps sending far past the cap is cut off.
      if (size > DISCARD_LIMIT_BYTES) {
        req.destroy();
        reject(tooLarge());
      }
    });
    req.on('end', () => (over ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function asPutEventsRequest(parsed: unknown): { Entries: unknown[] } {
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray((parsed as { Entries?: unknown }).Entries)) {
    throw new InvalidEventError('PutEvents request: expected {"Entries": [...]}');
  }
  return parsed as { Entries: unknown[] };
}

/** An entry's size as EventBridge counts it (the strings it carries, 14 bytes for a Time); what is not a string counts nothing. */
function putEventsEntryBytes(entry: unknown): number {
  if (entry === null || typeof entry !== 'object') return 0;
  const e = entry as Record<string, unknown>;
  const bytes = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  const resources = Array.isArray(e.Resources) ? e.Resources.reduce<number>((n, r) => n + bytes(r), 0) : 0;
  return (e.Time === undefined ? 0 : 14) + bytes(e.Source) + bytes(e.DetailType) + bytes(e.Detail) + resources;
}

function checkEventSize(bytes: number, where: string): void {
  if (bytes > MAX_EVENT_BYTES) {
    throw new RequestError(413, 'EventTooLarge', `${where}: the event is ${bytes} bytes; one event may be at most ${MAX_EVENT_BYTES} bytes (256 KB, as EventBridge)`);
  }
}

/** A query parameter that must be one of `values` when given. */
function oneOf<T extends string>(q: URLSearchParams, name: string, values: readonly T[]): T | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!(values as readonly string[]).includes(v)) throw new RequestError(400, 'BadRequest', `query ${name}: expected ${values.join(' or ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** A query parameter that must be a whole number (0 or more) when given. */
function wholeNumber(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new RequestError(400, 'BadRequest', `query ${name}: expected a whole number, got ${JSON.stringify(v)}`);
  return n;
}

/** A query parameter that must be a timestamp when given. */
function timestamp(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (Number.isNaN(Date.parse(v))) throw new RequestError(400, 'BadRequest', `query ${name}: expected a timestamp like 2026-11-22T08:00:00Z, got ${JSON.stringify(v)}`);
  return v;
}

/** Constant-time comparison of `Bearer <token>` with the expected token. */
function sameToken(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
