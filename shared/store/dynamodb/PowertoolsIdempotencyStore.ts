import { IdempotencyConfig, IdempotencyItemAlreadyExistsError, IdempotencyItemNotFoundError, IdempotencyRecordStatus } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer, IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import { MeshError, type IdempotencyBegin, type IdempotencyStore } from '../../core/index.ts';

/** The idempotency table could not be read or written (throttled, unreachable, access denied). */
export class IdempotencyStoreError extends MeshError {
  readonly code = 'IdempotencyStoreUnavailable';
  readonly retryable = true;
}

export interface PowertoolsIdempotencyStoreOptions {
  /** A Powertools persistence layer: `DynamoDBPersistenceLayer` in Lambda, any other in tests. */
  persistence: BasePersistenceLayer;
  /**
   * The prefix of every key. Fixed (not the function name Powertools defaults to), so that
   * renaming or redeploying the function keeps the claims it made.
   */
  keyPrefix?: string;
  /** How long a completed claim is kept (the table's TTL). Default 24 h: longer than Lambda's 6 h maximum event age. */
  expiresAfterSeconds?: number;
  now?: () => number;
}

type Peek = Exclude<IdempotencyBegin, { state: 'claimed' }> | undefined;

/**
 * The pipeline's IdempotencyStore on Powertools' idempotency persistence layer: one
 * record per route + input event id (`{ route, eventId }`, hashed by Powertools), with
 * Powertools' conditional put deciding who may run. The pipeline claims before the model
 * call, completes with the result id after publishing, and releases on failure so that a
 * Lambda retry or a replay can claim again.
 *
 * @example
 * const persistence = new DynamoDBPersistenceLayer({ tableName: 'nearmesh-idempotency' });
 * const store = new PowertoolsIdempotencyStore({ persistence });
 * await store.begin('order-risk:6f1c…', new Date(Date.now() + 40_000)); // { state: 'claimed' }
 */
export class PowertoolsIdempotencyStore implements IdempotencyStore {
  private readonly persistence: BasePersistenceLayer;
  private readonly now: () => number;

  constructor(options: PowertoolsIdempotencyStoreOptions) {
    this.persistence = options.persistence;
    this.now = options.now ?? Date.now;
    this.persistence.configure({
      config: new IdempotencyConfig({ expiresAfterSeconds: options.expiresAfterSeconds ?? 24 * 60 * 60 }),
      keyPrefix: options.keyPrefix ?? 'nearmesh',
    });
  }

  async peek(key: string): Promise<Peek> {
    let record: IdempotencyRecord;
    try {
      record = await this.persistence.getRecord(data(key));
    } catch (err) {
      if (err instanceof IdempotencyItemNotFoundError) return undefined;
      throw storeError('read', key, err);
    }
    return this.state(record);
  }

  async begin(key: string, expiresAt: Date): Promise<IdempotencyBegin> {
    const holdMs = Math.max(1, expiresAt.getTime() - this.now());
    try {
      await this.persistence.saveInProgress(data(key), holdMs);
      return { state: 'claimed' };
    } catch (err) {
      if (!(err instanceof IdempotencyItemAlreadyExistsError)) throw storeError('claim', key, err);
      // The conditional put returns the record that stopped it; an old table may not, so read it.
      const existing = err.existingRecord ?? (await this.peekRecord(key));
      return (existing && this.state(existing)) ?? { state: 'in-progress' };
    }
  }

  async complete(key: string, resultId: string): Promise<void> {
    try {
      await this.persistence.saveSuccess(data(key), resultId);
    } catch (err) {
      throw storeError('complete', key, err);
    }
  }

  async release(key: string): Promise<void> {
    try {
      await this.persistence.deleteRecord(data(key));
    } catch (err) {
      throw storeError('release', key, err);
    }
  }

  private async peekRecord(key: string): Promise<IdempotencyRecord | undefined> {
    try {
      return await this.persistence.getRecord(data(key));
    } catch {
      return undefined;
    }
  }

  private state(record: IdempotencyRecord): Peek {
    const status = record.getStatus();
    if (status === IdempotencyRecordStatus.COMPLETED) return { state: 'completed', resultId: String(record.getResponse() ?? '') };
    if (status === IdempotencyRecordStatus.INPROGRESS) {
      const until = record.inProgressExpiryTimestamp;
      return until === undefined || until > this.now() ? { state: 'in-progress' } : undefined;
    }
    return undefined;
  }
}

/** What Powertools hashes into the record key: the route and the input event id, kept apart. */
function data(key: string): { route: string; eventId: string } {
  const i = key.indexOf(':');
  return i < 0 ? { route: '', eventId: key } : { route: key.slice(0, i), eventId: key.slice(i + 1) };
}

function storeError(what: string, key: string, err: unknown): IdempotencyStoreError {
  const e = err as { name?: string; message?: string };
  return new IdempotencyStoreError(`could not ${what} the idempotency record of ${key}: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`, {
    cause: err,
    context: { idempotencyKey: key },
  });
}
