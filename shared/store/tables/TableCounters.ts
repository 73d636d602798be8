import type { TableClient } from '@azure/data-tables';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { CounterWindow, UsageCounters } from '../../core/ports/Counters.ts';
import { checkCounter, windowEndMs } from '../counterInput.ts';
import { accountOf, errorCode, isEntityMissing, isNetworkError, status } from './TableIdempotencyStore.ts';

export interface TableCountersOptions {
  /** The table the counters live in: the idempotency table (see below). */
  client: TableClient;
  /** Create the table on first use (an existing one is fine). Default true, as for the claims. */
  ensureTable?: boolean;
  /** Writes tried per update before it gives up as unavailable, when other instances keep winning the ETag race. Default 12. */
  maxAttempts?: number;
  /** Waits between them: full jitter under min(capMs, baseMs · 2^attempt). Default 5 ms and 250 ms. */
  backoff?: { baseMs: number; capMs: number };
  /** Waits `ms` (tests). */
  sleep?: (ms: number) => Promise<void>;
}

interface CounterEntity {
  partitionKey: string;
  rowKey: string;
  used: number;
  /** The window's end (ISO 8601), the property the claims purge deletes by. */
  expiresAt: string;
}

type Found = { used: number; etag: string } | undefined;

/**
 * Usage counters in Azure Table Storage with optimistic concurrency: read the entity and its
 * ETag, decide, write with If-Match on that ETag (insert when there is none). A write that lost
 * the race (412, or 409/404 when the entity appeared or went meanwhile) reads again and decides
 * again, after a jittered wait, at most `maxAttempts` times; so two instances never both take the
 * last unit of a window. An instance queues its own updates of one counter, so only instances
 * race each other, not the calls in flight inside one.
 *
 * The entities live in the idempotency table, PartitionKey `counter:<key>` (a raw `:` never
 * occurs in a claim's PartitionKey, which is percent-encoded), RowKey the window's start and
 * length in epoch milliseconds (`<start>+<length>`), `expiresAt` the window's end: the claims purge (`purgeExpired`, the
 * purge-claims timer) deletes ended windows with the expired claims.
 *
 * Trouble with the table becomes a retryable StoreUnavailableError saying what to fix; the
 * SDK error itself is not kept (its text would end up in logs).
 *
 * @example
 * const counters = new TableCounters({ client: TableClient.fromConnectionString(cs, 'meshidempotency') });
 * const { ok } = await counters.reserve('limit:aoai-swc:rpm', counterWindow('minute', Date.now()), 1, 60);
 */
export class TableCounters implements UsageCounters {
  private ready: Promise<void> | undefined;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly maxAttempts: number;
  private readonly backoff: { baseMs: number; capMs: number };
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: TableCountersOptions) {
    this.maxAttempts = opts.maxAttempts ?? 12;
    this.backoff = opts.backoff ?? { baseMs: 5, capMs: 250 };
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async reserve(key: string, window: CounterWindow, amount: number, limit: number): Promise<{ ok: boolean; used: number }> {
    checkCounter(key, window, { value: amount, reserve: true }, limit);
    return this.change('reserve', key, window, (used) => (used + amount <= limit ? used + amount : undefined));
  }

  async adjust(key: string, window: CounterWindow, amount: number): Promise<number> {
    checkCounter(key, window, { value: amount, reserve: false });
    return (await this.change('adjust', key, window, (used) => Math.max(0, used + amount))).used;
  }

  async read(key: string, window: CounterWindow): Promise<number> {
    checkCounter(key, window);
    return (await this.find(key, window))?.used ?? 0;
  }

  /**
   * Read, decide (`next` gives the new total, or undefined to refuse), write conditionally;
   * again on a lost race. Queued behind this instance's earlier updates of the same counter.
   */
  private change(what: string, key: string, window: CounterWindow, next: (used: number) => number | undefined): Promise<{ ok: boolean; used: number }> {
    return this.queued(`${window.startMs}+${window.lengthMs}/${key}`, async () => {
      for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
        if (attempt > 0) await this.sleep(Math.random() * Math.min(this.backoff.capMs, this.backoff.baseMs * 2 ** attempt));
        const found = await this.find(key, window);
        const used = found?.used ?? 0;
        const total = next(used);
        if (total === undefined) return { ok: false, used };
        if (found && total === used) return { ok: true, used };
        const entity: CounterEntity = { ...entityKeys(key, window), used: total, expiresAt: new Date(windowEndMs(window)).toISOString() };
        // Stored as a Double whatever the value: an Int32 would overflow at 2^31 tokens, and a
        // property must keep one type for the service to compare and sum it the same way.
        const typed = { ...entity, used: { value: total, type: 'Double' as const } };
        try {
          await this.call(what, key, window, (c) => (found ? c.updateEntity(typed, 'Replace', { etag: found.etag }) : c.createEntity(typed)));
          return { ok: true, used: total };
        } catch (err) {
          if (!lostRace(err)) throw err;
        }
      }
      throw this.unavailable(what, key, window, `other instances kept changing it: gave up after ${this.maxAttempts} attempts; retrying later`, {});
    });
  }

  private async find(key: string, window: CounterWindow): Promise<Found> {
    const { partitionKey, rowKey } = entityKeys(key, window);
    try {
      const entity = await this.call('read', key, window, (c) => c.getEntity<{ used?: unknown }>(partitionKey, rowKey));
      return { used: Number(entity.used ?? 0), etag: entity.etag };
    } catch (err) {
      if (isEntityMissing(err)) return undefined;
      // A read has no race to lose: a 409 or 412 here is the service misbehaving.
      if (lostRace(err)) throw this.translate('read', key, window, err);
      throw err;
    }
  }

  /** Runs `fn` after the updates of `slot` queued before it (whether they succeeded or not). */
  private queued<T>(slot: string, fn: () => Promise<T>): Promise<T> {
    const before = this.queues.get(slot) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(slot, settled);
    void settled.then(() => {
      if (this.queues.get(slot) === settled) this.queues.delete(slot);
    });
    return run;
  }

  private async ensureTable(): Promise<void> {
    if (this.opts.ensureTable === false) return;
    this.ready ??= this.opts.client.createTable().catch((err: unknown) => {
      this.ready = undefined;
      if (status(err) === 409) return;
      throw err;
    });
    await this.ready;
  }

  /** One SDK call: a lost race (409, 412, a missing entity) stays the SDK's error for the caller to decide on; anything else becomes StoreUnavailableError. */
  private async call<T>(what: string, key: string, window: CounterWindow, fn: (client: TableClient) => Promise<T>): Promise<T> {
    try {
      await this.ensureTable();
      return await fn(this.opts.client);
    } catch (err) {
      if (lostRace(err)) throw err;
      if (errorCode(err) === 'TableNotFound') this.ready = undefined;
      throw this.translate(what, key, window, err);
    }
  }

  private translate(what: string, key: string, window: CounterWindow, err: unknown): StoreUnavailableError {
    const account = accountOf(this.opts.client.url);
    const code = errorCode(err);
    const s = status(err);
    let advice: string;
    if (code === 'TableNotFound') advice = `the table does not exist in account ${account}: create it with the infrastructure, or leave ensureTable on`;
    else if (s === 401 || s === 403) advice = `account ${account} refused access: grant the function's identity the Storage Table Data Contributor role on the table`;
    else if (s === undefined && isNetworkError(code)) advice = `account ${account} could not be reached at ${this.opts.client.url}: check AzureWebJobsStorage (or MESH_TABLES_ENDPOINT)`;
    else advice = 'retrying';
    return this.unavailable(what, key, window, `${s ?? code ?? 'error'}${code && s !== undefined ? ` ${code}` : ''}; ${advice}`, {
      ...(s === undefined ? {} : { status: s }),
      ...(code ? { errorCode: code } : {}),
    });
  }

  private unavailable(what: string, key: string, window: CounterWindow, why: string, context: Record<string, unknown>): StoreUnavailableError {
    const table = this.opts.client.tableName;
    return new StoreUnavailableError(`usage counter ${key} (window from ${new Date(window.startMs).toISOString()}): could not ${what} in table ${table}: ${why}`, {
      context: { counter: key, windowStartMs: window.startMs, table, ...context },
    });
  }
}

/** `counter:<key>` (percent-encoded: `/ \ # ?` are not allowed in keys) and the window's start and length. */
export function entityKeys(key: string, window: CounterWindow): { partitionKey: string; rowKey: string } {
  return { partitionKey: `counter:${encodeURIComponent(key)}`, rowKey: `${window.startMs}+${window.lengthMs}` };
}

/** Another writer got there first: the entity changed (412), appeared (409) or went (404). */
function lostRace(err: unknown): boolean {
  return status(err) === 412 || status(err) === 409 || isEntityMissing(err);
}
