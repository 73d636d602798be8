import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake saw it, for specs that assert on the wire. */
export interface TableRequest {
  method: string;
  path: string;
  ifMatch?: string;
  body?: Record<string, unknown>;
}

export interface TableStorageFake {
  /** For `TableClient.fromConnectionString(..., { allowInsecureConnection: true })`. */
  connectionString: string;
  requests: TableRequest[];
  /** The entities of a table, as stored (system properties included). */
  entities(table: string): Record<string, unknown>[];
  /** Make the next `count` requests fail with this status and error code (503 ServerBusy by default). */
  failNext(count: number, status?: number, code?: string): void;
  /** Delete a table and its entities, as someone with the portal might. */
  dropTable(table: string): void;
  close(): Promise<void>;
}

const ACCOUNT = 'devstoreaccount1';
// The well-known development storage key (public, the same in every emulator): a signature needs some key.
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

interface Stored {
  etag: string;
  props: Record<string, unknown>;
}

/**
 * A local fake of the Azure Table REST API, enough for `@azure/data-tables` to create a table,
 * query it (simple `$filter`, paged), and insert, read, replace (with or without If-Match),
 * upsert and delete single entities, with the service's status codes and OData error bodies:
 * 409 TableAlreadyExists when creating a table that exists, 404 TableNotFound for any
 * request to a table that does not (nothing creates one implicitly), 409
 * EntityAlreadyExists on insert, and If-Match as the service evaluates it — an ETag that is
 * no longer current is 412 UpdateConditionNotSatisfied, an If-Match on a missing entity is
 * 404 ResourceNotFound, `*` matches any existing entity.
 *
 * @example
 * const fake = await startTableStorageFake();
 * const client = TableClient.fromConnectionString(fake.connectionString, 'idempotency', { allowInsecureConnection: true });
 */
export async function startTableStorageFake(): Promise<TableStorageFake> {
  const tables = new Map<string, Map<string, Stored>>();
  const requests: TableRequest[] = [];
  let version = 0;
  let failures: { count: number; status: number; code: string } = { count: 0, status: 503, code: 'ServerBusy' };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    let path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
    if (path.startsWith(`${ACCOUNT}/`)) path = path.slice(ACCOUNT.length + 1);
    const ifMatch = header(req, 'if-match');
    requests.push({ method: req.method ?? '', path, ...(ifMatch ? { ifMatch } : {}), ...(body ? { body } : {}) });
    if (failures.count > 0) {
      failures.count--;
      return error(res, failures.status, failures.code, failures.code === 'ServerBusy' ? 'The server is busy.' : `simulated ${failures.code}`);
    }

    if (path === 'Tables' && req.method === 'POST') {
      const name = String(body?.TableName ?? '');
      if (tables.has(name)) return error(res, 409, 'TableAlreadyExists', 'The table specified already exists.');
      tables.set(name, new Map());
      return json(res, 201, { TableName: name });
    }

    const q = /^([A-Za-z0-9]+)\(\)$/.exec(path);
    if (q && req.method === 'GET') return query(res, tables.get(q[1]!), url.searchParams);

    const m = /^([A-Za-z0-9]+)(?:\(PartitionKey='((?:[^']|'')*)',RowKey='((?:[^']|'')*)'\))?$/.exec(path);
    if (!m) return error(res, 400, 'InvalidUri', `unsupported path ${path}`);
    const table = tables.get(m[1]!);
    if (!table) return error(res, 404, 'TableNotFound', 'The table specified does not exist.');
    const nextEtag = () => `W/"datetime'${encodeURIComponent(new Date(Date.now() + ++version).toISOString())}'"`;

    if (m[2] === undefined) {
      if (req.method !== 'POST' || !body) return error(res, 400, 'InvalidInput', 'expected an entity to insert');
      const key = `${body.PartitionKey}\u0000${body.RowKey}`;
      if (table.has(key)) return error(res, 409, 'EntityAlreadyExists', 'The specified entity already exists.');
      const stored = { etag: nextEtag(), props: { ...body, Timestamp: new Date().toISOString() } };
      table.set(key, stored);
      res.setHeader('ETag', stored.etag);
      if (header(req, 'prefer') === 'return-no-content') return end(res, 204);
      return json(res, 201, { ...stored.props, 'odata.etag': stored.etag });
    }

    const pk = m[2].replace(/''/g, "'");
    const rk = m[3]!.replace(/''/g, "'");
    const key = `${pk}\u0000${rk}`;
    const existing = table.get(key);
    const conditionFails = ifMatch !== undefined && ifMatch !== '*' && existing?.etag !== ifMatch;
    switch (req.method) {
      case 'GET':
        if (!existing) return error(res, 404, 'ResourceNotFound', 'The specified resource does not exist.');
        res.setHeader('ETag', existing.etag);
        return json(res, 200, { ...existing.props, 'odata.etag': existing.etag });
      case 'PUT':
      case 'PATCH': {
        if (ifMatch !== undefined && !existing) return error(res, 404, 'ResourceNotFound', 'The specified resource does not exist.');
        if (conditionFails) return error(res, 412, 'UpdateConditionNotSatisfied', 'The update condition specified in the request was not satisfied.');
        const base = req.method === 'PATCH' && existing ? existing.props : {};
        const stored = { etag: nextEtag(), props: { ...base, ...body, PartitionKey: pk, RowKey: rk, Timestamp: new Date().toISOString() } };
        table.set(key, stored);
        res.setHeader('ETag', stored.etag);
        return end(res, 204);
      }
      case 'DELETE':
        if (!existing) return error(res, 404, 'ResourceNotFound', 'The specified resource does not exist.');
        if (conditionFails) return error(res, 412, 'UpdateConditionNotSatisfied', 'The update condition specified in the request was not satisfied.');
        table.delete(key);
        return end(res, 204);
      default:
        return error(res, 405, 'UnsupportedHttpVerb', `${req.method} is not supported by the fake`);
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => error(res, 500, 'InternalError', String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};TableEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
    requests,
    entities: (table) => [...(tables.get(table)?.values() ?? [])].map((s) => ({ ...s.props })),
    failNext: (count, status = 503, code = status === 403 ? 'AuthorizationPermissionMismatch' : 'ServerBusy') => {
      failures = { count, status, code };
    },
    dropTable: (table) => void tables.delete(table),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const PAGE = 2;

/**
 * Query entities: `$filter` with comparisons of a property to a string literal joined by
 * `and` (`expiresAt lt '2026-…'`), in PartitionKey/RowKey order, in pages of PAGE entities
 * with the service's continuation headers — small pages, so callers are tested for paging.
 */
function query(res: ServerResponse, table: Map<string, Stored> | undefined, params: URLSearchParams): void {
  if (!table) return error(res, 404, 'TableNotFound', 'The table specified does not exist.');
  const filter = params.get('$filter');
  const tests = (filter ? filter.split(/\s+and\s+/) : []).map((clause) => {
    const c = /^\(?\s*(\w+)\s+(eq|ne|lt|le|gt|ge)\s+'((?:[^']|'')*)'\s*\)?$/.exec(clause.trim());
    if (!c) throw new Error(`the fake supports <property> <op> '<string>' filters only, got ${clause}`);
    const [, prop, op, literal] = c as unknown as [string, string, string, string];
    const value = literal.replace(/''/g, "'");
    return (props: Record<string, unknown>) => {
      const v = props[prop];
      if (typeof v !== 'string') return false;
      const cmp = v < value ? -1 : v > value ? 1 : 0;
      return { eq: cmp === 0, ne: cmp !== 0, lt: cmp < 0, le: cmp <= 0, gt: cmp > 0, ge: cmp >= 0 }[op]!;
    };
  });
  const sorted = [...table.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const next = params.has('NextPartitionKey') ? `${params.get('NextPartitionKey')}\u0000${params.get('NextRowKey') ?? ''}` : undefined;
  const matching = sorted.filter(([key, s]) => (next === undefined || key >= next) && tests.every((t) => t(s.props)));
  const page = matching.slice(0, PAGE);
  const after = matching[PAGE];
  if (after) {
    const [pk, rk] = after[0].split('\u0000');
    res.setHeader('x-ms-continuation-NextPartitionKey', pk!);
    res.setHeader('x-ms-continuation-NextRowKey', rk!);
  }
  json(res, 200, { value: page.map(([, s]) => ({ ...s.props, 'odata.etag': s.etag })) });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json;odata=minimalmetadata;streaming=true;charset=utf-8' });
  res.end(JSON.stringify(body));
}

function end(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  res.setHeader('x-ms-error-code', code);
  json(res, status, { 'odata.error': { code, message: { lang: 'en-US', value: message } } });
}
