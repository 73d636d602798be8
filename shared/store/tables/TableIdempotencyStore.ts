import { odata, type TableClient } from '@azure/data-tables';
import { MeshError, systemClock, type Clock, type IdempotencyBegin, type IdempotencyStore } from '../../core/index.ts';

/** The idempotency table could not be read or written; the delivery may be retried. */
export class TableStoreError extends MeshError {
  readonly code = 'IdempotencyStoreUnavailable';
  readonly retryable = true;
}

export interface TableIdempotencyStoreOptions {
  client: TableClient;
  clock?: Clock;
  /** Create the table on first use (local runs, tests). Deployed tables come from infrastructure. Default false. */
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
  /**
   * In progress: when the claim may be taken over. Completed: when `purgeExpired` may delete
   * the record (Table Storage has no TTL of its own).
   */
  expiresAt: string;
  resultId?: string;
}

type Peek = Exclude<IdempotencyBegin, { state: 'claimed' }> | undefined;

/**
 * Idempotency claims in Azure Table Storage, keyed like the Lambda edge's: PartitionKey = the
 * route id, RowKey = the input event id (percent-encoded: `/ \ # ?` are not allowed in keys).
 * A claim is an insert (409 when someone holds the key); an expired claim is taken over with
 * a conditional replace on its ETag, so two instances cannot both win it.
 *
 * @example
 * const store = new TableIdempotencyStore({ client: TableClient.fromConnectionString(cs, 'meshidempotency') });
 * await store.begin('ticket-triage:TCK-1', new Date(Date.now() + 60_000)); // { state: 'claimed' }
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
    const claim: ClaimEntity = { ...tableKeys(key), status: 'in-progress', expiresAt: expiresAt.toISOString() };
    // Twice at most: the record we conflicted with may be released between our insert and our read.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.call('claim', key, (c) => c.createEntity(claim));
        return { state: 'claimed' };
      } catch (err) {
        if (status(err) !== 409) throw err;
      }
      const found = await this.read(key);
      if (!found) continue;
      const state = this.stateOf(found.entity);
      if (state) return state;
      try {
        await this.call('take over', key, (c) => c.updateEntity(claim, 'Replace', { etag: found.etag }));
        return { state: 'claimed' };
      } catch (err) {
        if (status(err) === 412 || status(err) === 404) return { state: 'in-progress' };
        throw err;
      }
    }
    return { state: 'in-progress' };
  }

  async complete(key: string, resultId: string): Promise<void> {
    const keep = this.opts.keepCompletedMs ?? 24 * 60 * 60_000;
    const done: ClaimEntity = { ...tableKeys(key), status: 'completed', resultId, expiresAt: new Date(this.clock.now().getTime() + keep).toISOString() };
    await this.call('complete', key, (c) => c.upsertEntity(done, 'Replace'));
  }

  /**
   * Delete every record whose `expiresAt` is before `before` (default now): completed claims
   * past their keep time and in-progress claims nobody came back for. Each delete is
   * conditional on the ETag read, so a record taken over or completed meanwhile stays.
   */
  async purgeExpired(before: Date = this.clock.now(), onProgress?: (report: PurgeReport) => void): Promise<PurgeReport> {
    const report: PurgeReport = { deleted: 0, skipped: 0 };
    const expired = this.opts.client.listEntities<ClaimEntity>({ queryOptions: { filter: odata`expiresAt lt ${before.toISOString()}`, select: ['PartitionKey', 'RowKey', 'expiresAt'] } });
    try {
      for await (const page of expired.byPage({ maxPageSize: 100 })) {
        await Promise.all(
          page.map(async (e) => {
            try {
              await this.opts.client.deleteEntity(e.partitionKey!, e.rowKey!, { etag: e.etag });
              report.deleted++;
            } catch (err) {
              if (status(err) !== 404 && status(err) !== 412) throw err;
              report.skipped++;
            }
          }),
        );
        onProgress?.({ ...report });
      }
    } catch (err) {
      if (err instanceof MeshError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new TableStoreError(`idempotency table: purge stopped after ${report.deleted} deleted: ${message}`, { cause: err, context: { ...report } });
    }
    return report;
  }

  async release(key: string): Promise<void> {
    const found = await this.read(key);
    if (!found || found.entity.status !== 'in-progress') return;
    const { partitionKey, rowKey } = tableKeys(key);
    try {
      await this.call('release', key, (c) => c.deleteEntity(partitionKey, rowKey, { etag: found.etag }));
    } catch (err) {
      // Gone, or taken over after it expired: either way it is no longer ours to drop.
      if (status(err) !== 404 && status(err) !== 412) throw err;
    }
  }

  private stateOf(entity: ClaimEntity): Peek {
    if (entity.status === 'completed') return { state: 'completed', resultId: entity.resultId ?? '' };
    if (Date.parse(entity.expiresAt) > this.clock.now().getTime()) return { state: 'in-progress' };
    return undefined;
  }

  private async read(key: string): Promise<{ entity: ClaimEntity; etag: string } | undefined> {
    const { partitionKey, rowKey } = tableKeys(key);
    try {
      const entity = await this.call('read', key, (c) => c.getEntity<ClaimEntity>(partitionKey, rowKey));
      return { entity, etag: entity.etag };
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  /** Run one SDK call; conflicts and precondition failures stay SDK errors for the caller, the rest become TableStoreError. */
  private async call<T>(what: string, key: string, fn: (client: TableClient) => Promise<T>): Promise<T> {
    if (this.opts.ensureTable) {
      this.ready ??= this.opts.client.createTable().catch((err: unknown) => {
        this.ready = undefined;
        throw err;
      });
      await this.ready;
    }
    try {
      return await fn(this.opts.client);
    } catch (err) {
      if ([404, 409, 412].includes(status(err) ?? 0)) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new TableStoreError(`idempotency table: could not ${what} ${key}: ${message}`, { cause: err, context: { key } });
    }
  }
}

function status(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** `route:event` → PartitionKey route, RowKey event; both percent-encoded, so any event id is a legal key. */
export function tableKeys(key: string): { partitionKey: string; rowKey: string } {
  const i = key.indexOf(':');
  const route = i < 0 ? '' : key.slice(0, i);
  const eventId = i < 0 ? key : key.slice(i + 1);
  return { partitionKey: encodeURIComponent(route), rowKey: encodeURIComponent(eventId) };
}
