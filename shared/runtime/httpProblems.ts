import type { IncomingMessage, ServerResponse } from 'node:http';
import { MeshError } from '../core/index.ts';

/*
 * How the local ingress says no. A caller's mistake is a 4xx whose code tells an SDK not to
 * send the same request again, with a message that says what and where; a 5xx is only the
 * mesh's own fault (an SDK retries those). PutEvents answers in the AWS JSON 1.1 error
 * shape its SDKs read (`__type`); CloudEvents and the admin API answer with a JSON problem
 * body (RFC 9457) that keeps the `error` and `message` fields the mesh command reads.
 */

/** A request the server refuses before or instead of processing it: the caller's mistake. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    /** Problem code (`InvalidEvent`, `PayloadTooLarge`, …): stable, for programs. */
    readonly code: string,
    message: string,
    /** The AWS error type PutEvents answers with; `ValidationException` unless said. */
    readonly awsType = 'ValidationException',
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  421: 'Misdirected Request',
  500: 'Internal Server Error',
};

/** Status, code and message of anything a handler threw; `internal` when it is the mesh's own fault. */
export function classify(err: unknown): { status: number; code: string; awsType: string; message: string; internal: boolean } {
  if (err instanceof RequestError) return { status: err.status, code: err.code, awsType: err.awsType, message: err.message, internal: false };
  if (err instanceof MeshError && !err.retryable && err.code === 'InvalidEvent') {
    return { status: 400, code: err.code, awsType: 'ValidationException', message: err.message, internal: false };
  }
  const code = err instanceof MeshError ? err.code : 'Internal';
  return { status: 500, code, awsType: 'InternalException', message: err instanceof Error ? err.message : String(err), internal: true };
}

/** A JSON problem body; `retryable` is false for every 4xx. */
export function sendProblem(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  sendJson(
    res,
    status,
    { type: `urn:nearmesh:problem:${code}`, title: TITLES[status] ?? 'Error', status, error: code, message, retryable: status >= 500, ...extra },
    'application/problem+json',
  );
}

export function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': crypto.randomUUID() });
  res.end(text);
}

/** AWS JSON 1.1 errors: the SDK reads the type from `__type` / `x-amzn-ErrorType`. */
export function sendAwsError(res: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ __type: type, message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-errortype': type,
    'x-amzn-requestid': crypto.randomUUID(),
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * The Host headers a server on `port` answers to: the loopback names (and `extraHosts`) with
 * the port, and bare on port 80. Built once per server, checked on every request.
 */
export function allowedHosts(port: number, extraHosts: readonly string[] = []): ReadonlySet<string> {
  const names = [...LOOPBACK_NAMES, ...extraHosts.map((h) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h).toLowerCase())];
  return new Set(names.flatMap((n) => (port === 80 ? [`${n}:80`, n] : [`${n}:${port}`])));
}

/**
 * Refuses a Host header other than one of `allowed` (allowedHosts): a web page that rebinds
 * its own name to 127.0.0.1 sends its name, and is refused before anything runs.
 */
export function checkHost(req: IncomingMessage, allowed: ReadonlySet<string>): void {
  const host = req.headers.host;
  if (host !== undefined && (allowed.has(host) || allowed.has(host.toLowerCase()))) return;
  throw new RequestError(
    421,
    'MisdirectedRequest',
    `Host ${JSON.stringify(req.headers.host ?? '')} is not served here; mesh dev answers only to ${[...allowed].slice(0, 3).join(', ')} (a page that rebinds its name to loopback is refused)`,
    'MisdirectedRequestException',
  );
}

/** The request target as a URL, or a 400 that says it could not be read. */
export function requestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    throw new RequestError(400, 'BadRequest', `the request target ${JSON.stringify(target)} is not a path this server can read`);
  }
}

/** `decodeURIComponent`, with a 400 for bad percent-encoding. */
export function decodePathSegment(segment: string, where: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RequestError(400, 'BadRequest', `${where}: ${JSON.stringify(segment)} has invalid percent-encoding`);
  }
}
