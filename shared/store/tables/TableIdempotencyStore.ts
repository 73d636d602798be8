import { odata, type TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { MeshError, systemClock, type Clock, type IdempotencyBegin, type IdempotencyStore } from '../../core/index.ts';
import { claimLost } from '../claimLost.ts';

/**
 * The idempotency table could not be read or written (missing, access refused, unreachable,
 * busy); the delivery may be retried. The message says what to fix.
 */
export class TableStoreError extends MeshError {
  override readonly name = 'TableStoreError';
  readonly code = 'IdempotencyStoreUnavailable';
  readonly retryable = true;
}

export interface TableIdempotencyStoreOptions {
  client: TableClient;
  clock?: Clock;
  /**
   * Create the table on first use. Default true: nothing else creates it, and without it
   * every message would fail. Creating is idempotent (an existing table is fine), so turn it
   * off only where the function's identity may write entities but not create tables and the
   * table comes from infrastructure.
   */
  ensureTable?: boolean;
  /**
   * How long a completed claim is kept before `purgeExpired` may delete it. Default 24 h, as
   * the DynamoDB table's TTL on AWS: far longer than Service Bus redelivers a message.
   */
  keepCompletedMs?: number;
}

/** What one purge did. */
export interface PurgeReport {
  deleted: number;
  /** Changed since they were read (taken over, completed) or already gone: left alone. */
  skipped: number;
}

interface ClaimEntity {
  partitionKey: string;
  rowKey: string;
  status: 'in-progress' | 'completed';
  /** The token of whoever holds (or completed) the claim. Absent on claims written before owners existed. */
  owner?: string;
  /**
   * In progress: when the claim may be taken over. Completed: when `purgeExpired` may delete
   * the record (Table Storage has no TTL of its own).
   */
  expiresAt: string;
  resultId?: string;
}

type Peek = Exclude<IdempotencyBegin, { state: 'claimed' }> | undefined;
type Found = { entity: ClaimEntity; etag: string } | undefined;

/** How many times a fenced write re-reads after losing a race on the ETag before giving up as unavailable. */
const MAX_RACES = 5;

/**
 * Idempotency claims in Azure Table Storage, keyed like the Lambda edge's: PartitionKey = the
 * route id, RowKey = the input event id (percent-encoded: `/ \ # ?` are not allowed in keys).
 * A claim is an insert (409 when someone holds the key) carrying a fresh owner token; an
 * expired claim is taken over with a conditional replace on its ETag, so two instances cannot
 * both win it. Renew, complete and release read the entity, check the owner, and write with
 * If-Match on the ETag they read: a holder whose lease was taken over gets ClaimLostError and
 * cannot touch the new owner's claim.
 *
 * Infrastructure trouble (table missing, access refused, account unreachable) becomes a
 * retryable TableStoreError saying what to fix.
 *
 * @example
 * const store = new TableIdempotencyStore({ client: TableClient.fromConnectionString(cs, 'meshidempotency') });
 * const claim = await store.begin('ticket-triage:TCK-1', new Date(Date.now() + 60_000)); // { state: 'claimed', token }
 * if (claim.state === 'claimed') await store.complete('ticket-triage:TCK-1', claim.token, 'result-1');
 */
export class TableIdempotencyStore implements IdempotencyStore {
  private readonly clock: Clock;
  private ready: Promise<void> | undefined;

  constructor(private readonly opts: TableIdempotencyStoreOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  async peek(key: string): Promise<Peek> {
    const found = await this.read(key);
    return found ? this.stateOf(found.entity) : undefined;
  }

  async begin(key: string, expiresAt: Date): Promise<IdempotencyBegin> {
    const token = randomUUID();
    const claim: ClaimEntity = { ...tableKeys(key), status: 'in-progress', owner: token, expiresAt: expiresAt.toISOString() };
    // A few times at most: the record we conflicted with may be released between our insert and our read.
    for (let attempt = 0; attempt < MAX_RACES; attempt++) {
      try {
        await this.call('claim', key, (c) => c.createEntity(claim));
        return { state: 'claimed', token };
      } catch (err) {
        if (status(err) !== 409) throw err;
      }
      const found = await this.read(key);
      if (!found) continue;
      const state = this.stateOf(found.entity);
      if (state) return state;
      try {
        await this.call('take over', key, (c) => c.updateEntity(claim, 'Replace', { etag: found.etag }));
        return { state: 'claimed', token };
      } catch (err) {
        // Someone else took it over (412) or released it (404) since we read it.
        if (status(err) === 412) return { state: 'in-progress' };
        if (status(err) !== 404) throw err;
      }
    }
    return { state: 'in-progress' };
  }

  async renew(key: string, token: string, expiresAt: Date): Promise<void> {
    await this.fenced(key, 'renew', async (found) => {
      if (!owns(found, token)) throw claimLost(key, 'renew', describe(found));
      const renewed: ClaimEntity = { ...found.entity, expiresAt: expiresAt.toISOString() };
      return (c) => c.updateEntity(strip(renewed), 'Replace', { etag: found.etag });
    });
  }

  async complete(key: string, token: string, resultId: string): Promise<void> {
    const keep = this.opts.keepCompletedMs ?? 24 * 60 * 60_000;
    await this.fenced(key, 'complete', async (found) => {
      // Completed already with this result (a retried complete): nothing to do.
      if (found?.entity.status === 'completed' && found.entity.resultId === resultId) return undefined;
      if (!owns(found, token)) throw claimLost(key, 'complete', describe(found));
      const done: ClaimEntity = { ...tableKeys(key), status: 'completed', owner: token, resultId, expiresAt: new Date(this.clock.now().getTime() + keep).toISOString() };
      return (c) => c.updateEntity(done, 'Replace', { etag: found.etag });
    });
  }

  async release(key: string, token: string): Promise<void> {
    await this.fenced(key, 'release', async (found) => {
      // Missing or completed: nothing of ours to drop. In progress under another owner: fenced.
      if (!found || found.entity.status !== 'in-progress') return undefined;
      if (!owns(found, token)) throw claimLost(key, 'release', describe(found));
      const { partitionKey, rowKey } = tableKeys(key);
      return (c) => c.deleteEntity(partitionKey, rowKey, { etag: found.etag });
    });
  }

  /**
   * Delete every record whose `expiresAt` is before `before` (default now): completed claims
   * past their keep time and in-progress claims nobody came back for. Each delete is
   * conditional on the ETag read, so a record taken over or completed meanwhile stays.
   */
  async purgeExpired(before: Date = this.clock.now(), onProgress?: (report: PurgeReport) => void): Promise<PurgeReport> {
    const report: PurgeReport = { deleted: 0, skipped: 0 };
    try {
      await this.ensureTable();
      const expired = this.opts.client.listEntities<ClaimEntity>({ queryOptions: { filter: odata`expiresAt lt ${before.toISOString()}`, select: ['PartitionKey', 'RowKey', 'expiresAt'] } });
      for await (const page of expired.byPage({ maxPageSize: 100 })) {
        await Promise.all(
          page.map(async (e) => {
            try {
              await this.opts.client.deleteEntity(e.partitionKey!, e.rowKey!, { etag: e.etag });
              report.deleted++;
            } catch (err) {
              if (!isEntityMissing(err) && status(err) !== 412) throw err;
              report.skipped++;
            }
          }),
        );
        onProgress?.({ ...report });
      }
    } catch (err) {
      if (err instanceof MeshError) throw err;
      throw this.storeError(`purge stopped after ${report.deleted} deleted`, err, { ...report });
    }
    return report;
  }

  /**
   * Read, decide, write with If-Match on the ETag read. `decide` throws ClaimLostError, or
   * returns the conditional write (undefined: nothing to write). A write that lost a race on
   * the ETag (412) or found the entity gone (404) decides again on a fresh read.
   */
  private async fenced(key: string, what: 'renew' | 'complete' | 'release', decide: (found: Found) => Promise<((c: TableClient) => Promise<unknown>) | undefined>): Promise<void> {
    for (let attempt = 0; attempt < MAX_RACES; attempt++) {
      const write = await decide(await this.read(key));
      if (!write) return;
      try {
        await this.call(what, key, write);
        return;
      } catch (err) {
        if (status(err) !== 412 && !isEntityMissing(err)) throw err;
      }
    }
    throw new TableStoreError(`idempotency table: could not ${what} ${key}: the record kept changing under ${MAX_RACES} attempts`, { context: { idempotencyKey: key } });
  }

  private stateOf(entity: ClaimEntity): Peek {
    if (entity.status === 'completed') return { state: 'completed', resultId: entity.resultId ?? '' };
    if (Date.parse(entity.expiresAt) > this.clock.now().getTime()) return { state: 'in-progress' };
    return undefined;
  }

  private async read(key: string): Promise<Found> {
    const { partitionKey, rowKey } = tableKeys(key);
    try {
      const entity = await this.call('read', key, (c) => c.getEntity<ClaimEntity>(partitionKey, rowKey));
      return { entity, etag: entity.etag };
    } catch (err) {
      if (isEntityMissing(err)) return undefined;
      throw err;
    }
  }

  /** Create the table once per store (when `ensureTable` is on); an existing table is fine. */
  private async ensureTable(): Promise<void> {
    if (this.opts.ensureTable === false) return;
    this.ready ??= this.opts.client.createTable().catch((err: unknown) => {
      this.ready = undefined;
      // The SDK already treats 409 TableAlreadyExists as success; a bare 409 means the same.
      if (status(err) === 409) return;
      throw err;
    });
    await this.ready;
  }

  /**
   * Run one SDK call. What the caller decides on stays an SDK error: 409 (exists), 412
   * (ETag changed), 404 for a missing entity. Everything else becomes TableStoreError.
   */
  private async call<T>(what: string, key: string, fn: (client: TableClient) => Promise<T>): Promise<T> {
    try {
      await this.ensureTable();
      return await fn(this.opts.client);
    } catch (err) {
      if (status(err) === 409 || status(err) === 412 || isEntityMissing(err)) throw err;
      // The table went away after we created it (or was never there): create it again next time.
      if (errorCode(err) === 'TableNotFound') this.ready = undefined;
      throw this.storeError(`could not ${what} ${key}`, err, { idempotencyKey: key });
    }
  }

  /** A retryable error that says what an operator should fix, not just what failed. */
  private storeError(what: string, err: unknown, context: Record<string, unknown>): TableStoreError {
    const table = this.opts.client.tableName;
    const account = accountOf(this.opts.client.url);
    const code = errorCode(err);
    const s = status(err);
    const detail = `${s ?? code ?? 'error'}${code && s !== undefined ? ` ${code}` : ''}`;
    let advice: string;
    if (code === 'TableNotFound') {
      advice =
        this.opts.ensureTable === false
          ? `the table ${table} does not exist in account ${account}: create it with the infrastructure, or leave ensureTable on`
          : `the table ${table} does not exist in account ${account} and could not be created: check that the identity may create tables, or create it with the infrastructure`;
    } else if (s === 401 || s === 403) {
      advice = `account ${account} refused access to table ${table}: grant the function's identity the Storage Table Data Contributor role on account ${account}, or check the account key in AzureWebJobsStorage`;
    } else if (s === undefined && isNetworkError(code)) {
      advice = `account ${account} could not be reached at ${this.opts.client.url}: check AzureWebJobsStorage (or MESH_TABLES_ENDPOINT / AzureWebJobsStorage__tableServiceUri) and the network path to it`;
    } else {
      advice = `table ${table} in account ${account} answered with an error; retrying`;
    }
    return new TableStoreError(`idempotency table: ${what}: ${advice} (${detail}: ${messageOf(err)})`, {
      cause: err,
      context: { ...context, table, account, ...(s === undefined ? {} : { status: s }), ...(code ? { errorCode: code } : {}) },
    });
  }
}

/** True when `found` is an in-progress claim held by `token`, expired or not: nobody took it over. */
function owns(found: Found, token: string): found is NonNullable<Found> {
  return found?.entity.status === 'in-progress' && found.entity.owner === token;
}

function describe(found: Found): string {
  if (!found) return 'nobody holds it';
  return found.entity.status === 'completed' ? 'it is completed' : 'another owner holds it';
}

/** The entity's own properties, without what the service added when it was read (etag, timestamp). */
function strip(entity: ClaimEntity): ClaimEntity {
  const { partitionKey, rowKey, status: s, owner, expiresAt, resultId } = entity;
  return { partitionKey, rowKey, status: s, expiresAt, ...(owner === undefined ? {} : { owner }), ...(resultId === undefined ? {} : { resultId }) };
}

export function status(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The service's error code (`TableNotFound`, `ResourceNotFound`, …) or the network error's (`ECONNREFUSED`). */
export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; details?: { errorCode?: unknown; odataError?: { code?: unknown } } } | null;
  const code = e?.details?.errorCode ?? e?.details?.odataError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/** 404 for the entity itself. A missing table is also a 404, but a problem of the infrastructure. */
export function isEntityMissing(err: unknown): boolean {
  return status(err) === 404 && errorCode(err) !== 'TableNotFound';
}

export function isNetworkError(code: string | undefined): boolean {
  return code !== undefined && ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'REQUEST_SEND_ERROR'].includes(code);
}

/** The storage account in a table endpoint: `https://<account>.table.core.windows.net` or an emulator's `http://host:port/<account>`. */
export function accountOf(url: string): string {
  try {
    const u = new URL(url);
    const first = u.hostname.split('.')[0] ?? u.hostname;
    if (u.hostname.includes('.table.')) return first;
    return u.pathname.split('/').find(Boolean) ?? u.host;
  } catch {
    return url;
  }
}

function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // The SDK puts the whole OData body in the message; its inner text is what a person reads.
  const inner = /"value":"((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
  return inner ?? message;
}

/** `route:event` → PartitionKey route, RowKey event; both percent-encoded, so any event id is a legal key. */
export function tableKeys(key: string): { partitionKey: string; rowKey: string } {
  const i = key.indexOf(':');
  const route = i < 0 ? '' : key.slice(0, i);
  const eventId = i < 0 ? key : key.slice(i + 1);
  return { partitionKey: encodeURIComponent(route), rowKey: encodeURIComponent(eventId) };
}
