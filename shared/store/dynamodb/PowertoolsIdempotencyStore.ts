import { randomUUID } from 'node:crypto';
import { IdempotencyConfig, IdempotencyRecordStatus } from '@aws-lambda-powertools/idempotency';
import { MeshError, type IdempotencyBegin, type IdempotencyStore } from '../../core/index.ts';
import { claimLost } from '../claimLost.ts';
import type { FencedDynamoDBPersistenceLayer, OwnedIdempotencyRecord } from './FencedDynamoDBPersistenceLayer.ts';

/** The idempotency table could not be read or written (throttled, unreachable, access denied). */
export class IdempotencyStoreError extends MeshError {
  override readonly name = 'IdempotencyStoreError';
  readonly code = 'IdempotencyStoreUnavailable';
  readonly retryable = true;
}

export interface PowertoolsIdempotencyStoreOptions {
  /** Powertools' DynamoDB persistence layer with owner-fenced writes. */
  persistence: FencedDynamoDBPersistenceLayer;
  /**
   * The prefix of every key. Fixed (not the function name Powertools defaults to), so that
   * renaming or redeploying the function keeps the claims it made.
   */
  keyPrefix?: string;
  /** How long a completed claim is kept (the table's TTL). Default 24 h: longer than Lambda's 6 h maximum event age. */
  expiresAfterSeconds?: number;
  /** Decides whether a claim has expired and stamps the TTL. Default `Date.now`. */
  now?: () => number;
}

type Peek = Exclude<IdempotencyBegin, { state: 'claimed' }> | undefined;

/**
 * The pipeline's IdempotencyStore on Powertools' idempotency persistence layer: one
 * record per route + input event id (`{ route, eventId }`, hashed by Powertools). A claim
 * is a conditional put that writes a fresh owner token; renew, complete and release are
 * writes conditional on that owner, so a holder whose lease was taken over gets
 * `ClaimLostError` instead of overwriting the new owner. The pipeline claims before the
 * model call, completes with the result id after publishing, and releases on failure so that
 * a Lambda retry or a replay can claim again.
 *
 * @example
 * const persistence = new FencedDynamoDBPersistenceLayer({ tableName: 'nearmesh-idempotency' });
 * const store = new PowertoolsIdempotencyStore({ persistence });
 * const claim = await store.begin('order-risk:6f1c…', new Date(Date.now() + 40_000)); // { state: 'claimed', token }
 * if (claim.state === 'claimed') await store.complete('order-risk:6f1c…', claim.token, 'result-1');
 */
export class PowertoolsIdempotencyStore implements IdempotencyStore {
  private readonly persistence: FencedDynamoDBPersistenceLayer;
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
    const record = await this.call('read', key, () => this.persistence.read(data(key)));
    return record && this.state(record);
  }

  async begin(key: string, expiresAt: Date): Promise<IdempotencyBegin> {
    // Twice at most: the record that stopped the claim may be released before we read it.
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = randomUUID();
      const outcome = await this.call('claim', key, () => this.persistence.claim(data(key), token, expiresAt, new Date(this.now())));
      if (outcome.written) return { state: 'claimed', token };
      // The conditional put returns the record that stopped it; without one, read it.
      const existing = outcome.current ?? (await this.call('read', key, () => this.persistence.read(data(key))));
      if (!existing) continue;
      return this.state(existing) ?? { state: 'in-progress' };
    }
    return { state: 'in-progress' };
  }

  async renew(key: string, token: string, expiresAt: Date): Promise<void> {
    const outcome = await this.call('renew', key, () => this.persistence.renew(data(key), token, expiresAt, new Date(this.now())));
    if (!outcome.written) throw claimLost(key, 'renew', found(outcome.current));
  }

  async complete(key: string, token: string, resultId: string): Promise<void> {
    const outcome = await this.call('complete', key, () => this.persistence.complete(data(key), token, resultId, new Date(this.now())));
    if (outcome.written) return;
    const current = outcome.current;
    // Completed already with this result (a retried complete): nothing to do.
    if (current?.state === IdempotencyRecordStatus.COMPLETED && String(current.getResponse()) === resultId) return;
    throw claimLost(key, 'complete', found(current));
  }

  async release(key: string, token: string): Promise<void> {
    const outcome = await this.call('release', key, () => this.persistence.release(data(key), token));
    // Missing or completed: nothing of ours to drop. In progress under another owner: fenced.
    if (!outcome.written && outcome.current?.state === IdempotencyRecordStatus.INPROGRESS) throw claimLost(key, 'release', found(outcome.current));
  }

  /** Run one persistence call; anything but a refused condition becomes IdempotencyStoreError. */
  private async call<T>(what: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw storeError(what, key, err);
    }
  }

  /** The record as the pipeline sees it, by this store's clock (not the process clock Powertools' `getStatus` reads). */
  private state(record: OwnedIdempotencyRecord): Peek {
    const nowMs = this.now();
    // Past the table's TTL: DynamoDB deletes it at some point; until then it counts as gone.
    if (record.expiryTimestamp !== undefined && nowMs / 1000 > record.expiryTimestamp) return undefined;
    if (record.state === IdempotencyRecordStatus.COMPLETED) return { state: 'completed', resultId: String(record.getResponse() ?? '') };
    if (record.state === IdempotencyRecordStatus.INPROGRESS) {
      const until = record.inProgressExpiryTimestamp;
      return until === undefined || until > nowMs ? { state: 'in-progress' } : undefined;
    }
    return undefined;
  }
}

/** What Powertools hashes into the record key: the route and the input event id, kept apart. */
function data(key: string): { route: string; eventId: string } {
  const i = key.indexOf(':');
  return i < 0 ? { route: '', eventId: key } : { route: key.slice(0, i), eventId: key.slice(i + 1) };
}

function found(record: OwnedIdempotencyRecord | undefined): string {
  if (!record) return 'nobody holds it';
  return record.state === IdempotencyRecordStatus.COMPLETED ? 'it is completed' : 'another owner holds it';
}

function storeError(what: string, key: string, err: unknown): IdempotencyStoreError {
  const e = err as { name?: string; message?: string };
  return new IdempotencyStoreError(`could not ${what} the idempotency record of ${key}: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`, {
    cause: err,
    context: { idempotencyKey: key },
  });
}
