import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { IdempotencyRecordStatus, PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import type { DynamoDBPersistenceOptions, IdempotencyRecordOptions, IdempotencyRecordStatusValue } from '@aws-lambda-powertools/idempotency/types';

export type FencedDynamoDBPersistenceOptions = DynamoDBPersistenceOptions & {
  /** The attribute that holds the owner token. Default `owner`. */
  ownerAttr?: string;
};

/**
 * A Powertools record that also says who holds it. `state` is the status as stored:
 * Powertools' `getStatus()` decides expiry by the process clock, and the store has its own.
 */
export class OwnedIdempotencyRecord extends IdempotencyRecord {
  readonly owner: string | undefined;
  readonly state: IdempotencyRecordStatusValue;
  /** The instant the write is made at (ms), for the conditions that compare with now. */
  readonly writtenAtMs: number | undefined;

  constructor(config: IdempotencyRecordOptions & { owner?: string; writtenAtMs?: number }) {
    super(config);
    this.owner = config.owner;
    this.state = config.status;
    this.writtenAtMs = config.writtenAtMs;
  }
}

/** A fenced write found the record in another state than it required; `current` is what it found (absent: no record). */
export class FenceRejectedError extends Error {
  constructor(
    readonly current: OwnedIdempotencyRecord | undefined,
    options?: ErrorOptions,
  ) {
    super(current ? `the idempotency record ${current.idempotencyKey} is not held by this owner` : 'the idempotency record does not exist', options);
    this.name = 'FenceRejectedError';
  }
}

/** What a fenced write did: written, or refused with the record as it was. */
export type FencedOutcome = { written: true } | { written: false; current: OwnedIdempotencyRecord | undefined };

/**
 * Powertools' DynamoDB persistence layer with claims that are leases with an owner. Records
 * keep Powertools' format (hashed `id`, `status`, `expiration`, `in_progress_expiration`,
 * `data`) plus an `owner` attribute, so Powertools' own readers still understand them. The
 * fenced operations (`claim`, `renew`, `complete`, `release`) build owned records and go
 * through the layer's `_putRecord` / `_updateRecord` / `_deleteRecord`, which this class
 * overrides to store the owner and make each write conditional on it: a holder whose lease
 * was taken over cannot complete, extend or delete the new owner's claim. Records without an
 * owner (Powertools' own `saveInProgress` & co.) are written exactly as Powertools writes them.
 *
 * Every fenced write takes the caller's `now`, so claims expire by the store's clock, not
 * the process clock Powertools reads.
 *
 * @example
 * const persistence = new FencedDynamoDBPersistenceLayer({ tableName: 'nearmesh-idempotency' });
 * persistence.configure({ config: new IdempotencyConfig({}), keyPrefix: 'nearmesh' });
 * await persistence.claim({ route: 'order-risk', eventId: 'e-1' }, randomUUID(), new Date(Date.now() + 30_000), new Date());
 */
export class FencedDynamoDBPersistenceLayer extends DynamoDBPersistenceLayer {
  // Powertools keeps these private; the fenced writes need them too.
  private readonly fencedClient: DynamoDBClient;
  private readonly fencedTable: string;
  private readonly attr: { id: string; status: string; expiry: string; inProgressExpiry: string; data: string; owner: string };

  constructor(options: FencedDynamoDBPersistenceOptions) {
    const { ownerAttr, awsSdkV3Client, clientConfig, ...base } = options;
    // One client for Powertools' writes and ours.
    const client = awsSdkV3Client ?? new DynamoDBClient(clientConfig ?? {});
    super({ ...base, awsSdkV3Client: client });
    this.fencedClient = client;
    this.fencedTable = base.tableName;
    this.attr = {
      id: base.keyAttr ?? 'id',
      status: base.statusAttr ?? PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.statusAttr,
      expiry: base.expiryAttr ?? PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.expiryAttr,
      inProgressExpiry: base.inProgressExpiryAttr ?? PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.inProgressExpiryAttr,
      data: base.dataAttr ?? PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.dataAttr,
      owner: ownerAttr ?? 'owner',
    };
  }

  /** The record for `data` as stored (consistent read), owner included; undefined when there is none. */
  async read(data: Record<string, string>): Promise<OwnedIdempotencyRecord | undefined> {
    const key = this.getKey(this.getHashedIdempotencyKey(data));
    const { Item } = await this.fencedClient.send(new GetItemCommand({ TableName: this.fencedTable, Key: key, ConsistentRead: true }));
    return Item ? this.fromItem(Item) : undefined;
  }

  /** Claim `data` for `owner` until `expiresAt`: a new key, or one whose claim expired by `now`. */
  async claim(data: Record<string, string>, owner: string, expiresAt: Date, now: Date): Promise<FencedOutcome> {
    return this.fenced(() =>
      this._putRecord(
        this.owned(data, { status: IdempotencyRecordStatus.INPROGRESS, owner, inProgressExpiryTimestamp: expiresAt.getTime(), writtenAtMs: now.getTime() }),
      ),
    );
  }

  /** Extend the in-progress claim `owner` holds to `expiresAt`. */
  async renew(data: Record<string, string>, owner: string, expiresAt: Date, now: Date): Promise<FencedOutcome> {
    return this.fenced(() =>
      this._updateRecord(
        this.owned(data, { status: IdempotencyRecordStatus.INPROGRESS, owner, inProgressExpiryTimestamp: expiresAt.getTime(), writtenAtMs: now.getTime() }),
      ),
    );
  }

  /** Mark the in-progress claim `owner` holds completed with `result`. */
  async complete(data: Record<string, string>, owner: string, result: string, now: Date): Promise<FencedOutcome> {
    return this.fenced(() => this._updateRecord(this.owned(data, { status: IdempotencyRecordStatus.COMPLETED, owner, responseData: result, writtenAtMs: now.getTime() })));
  }

  /** Delete the in-progress claim `owner` holds. */
  async release(data: Record<string, string>, owner: string): Promise<FencedOutcome> {
    return this.fenced(() => this._deleteRecord(this.owned(data, { status: IdempotencyRecordStatus.EXPIRED, owner })));
  }

  protected override async _putRecord(record: IdempotencyRecord): Promise<void> {
    if (!isOwned(record)) return super._putRecord(record);
    const now = record.writtenAtMs ?? Date.now();
    const a = this.attr;
    await this.send(
      new PutItemCommand({
        TableName: this.fencedTable,
        Item: {
          ...this.getKey(record.idempotencyKey),
          [a.expiry]: { N: String(record.expiryTimestamp) },
          [a.status]: { S: record.state },
          [a.inProgressExpiry]: { N: String(record.inProgressExpiryTimestamp) },
          [a.owner]: { S: record.owner },
        },
        // Powertools' claim condition, with two differences: a claim is free from the instant
        // it expires (`<=`, as in every other adapter), and "now" is the store's clock.
        ConditionExpression: 'attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry <= :now_in_millis)',
        ExpressionAttributeNames: { '#id': a.id, '#expiry': a.expiry, '#status': a.status, '#in_progress_expiry': a.inProgressExpiry },
        ExpressionAttributeValues: { ':now': { N: String(now / 1000) }, ':now_in_millis': { N: String(now) }, ':inprogress': { S: IdempotencyRecordStatus.INPROGRESS } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  }

  protected override async _updateRecord(record: IdempotencyRecord): Promise<void> {
    if (!isOwned(record)) return super._updateRecord(record);
    const a = this.attr;
    const renewing = record.state === IdempotencyRecordStatus.INPROGRESS;
    const set: Record<string, [name: string, value: AttributeValue]> = renewing
      ? { in_progress_expiry: [a.inProgressExpiry, { N: String(record.inProgressExpiryTimestamp) }] }
      : {
          expiry: [a.expiry, { N: String(record.expiryTimestamp) }],
          status: [a.status, { S: record.state }],
          response_data: [a.data, { S: String(record.responseData) }],
        };
    await this.send(
      new UpdateItemCommand({
        TableName: this.fencedTable,
        Key: this.getKey(record.idempotencyKey),
        UpdateExpression: `SET ${Object.keys(set).map((k) => `#${k} = :${k}`).join(', ')}`,
        ...this.heldBy(record.owner, Object.fromEntries(Object.entries(set).map(([k, [name, value]]) => [k, { name, value }]))),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  }

  protected override async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    if (!isOwned(record)) return super._deleteRecord(record);
    await this.send(
      new DeleteItemCommand({ TableName: this.fencedTable, Key: this.getKey(record.idempotencyKey), ...this.heldBy(record.owner, {}), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
    );
  }

  /** The condition "in progress and held by `owner`", merged with the names and values of an update. */
  private heldBy(owner: string, extra: Record<string, { name: string; value: AttributeValue }>) {
    const a = this.attr;
    return {
      ConditionExpression: '#held_status = :held_inprogress AND #held_owner = :held_owner',
      ExpressionAttributeNames: { '#held_status': a.status, '#held_owner': a.owner, ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`#${k}`, v.name])) },
      ExpressionAttributeValues: {
        ':held_inprogress': { S: IdempotencyRecordStatus.INPROGRESS },
        ':held_owner': { S: owner },
        ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`:${k}`, v.value])),
      },
    };
  }

  private owned(data: Record<string, string>, config: Omit<IdempotencyRecordOptions, 'idempotencyKey'> & { owner: string; writtenAtMs?: number }): OwnedIdempotencyRecord {
    const nowMs = config.writtenAtMs ?? Date.now();
    return new OwnedIdempotencyRecord({
      idempotencyKey: this.getHashedIdempotencyKey(data),
      // The table's TTL: how long the record (completed, above all) is kept.
      expiryTimestamp: Math.round(nowMs / 1000 + this.getExpiresAfterSeconds()),
      ...config,
    });
  }

  /** Send a fenced write: a failed condition becomes FenceRejectedError with the record as it was. */
  private async send(command: PutItemCommand | UpdateItemCommand | DeleteItemCommand): Promise<void> {
    try {
      // `send` is overloaded per command type and does not accept a union; any of the three is valid here.
      await this.fencedClient.send(command as PutItemCommand);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new FenceRejectedError(err.Item ? this.fromItem(err.Item) : undefined, { cause: err });
      throw err;
    }
  }

  private async fenced(write: () => Promise<void>): Promise<FencedOutcome> {
    try {
      await write();
      return { written: true };
    } catch (err) {
      if (err instanceof FenceRejectedError) return { written: false, current: err.current };
      throw err;
    }
  }

  private fromItem(item: Record<string, AttributeValue>): OwnedIdempotencyRecord {
    const a = this.attr;
    const num = (name: string) => (item[name]?.N === undefined ? undefined : Number(item[name].N));
    const owner = item[a.owner]?.S;
    const data = item[a.data];
    return new OwnedIdempotencyRecord({
      idempotencyKey: item[a.id]?.S ?? '',
      status: (item[a.status]?.S ?? IdempotencyRecordStatus.EXPIRED) as IdempotencyRecordStatusValue,
      expiryTimestamp: num(a.expiry),
      inProgressExpiryTimestamp: num(a.inProgressExpiry),
      // Our results are strings; a record Powertools wrote for a function result may hold any JSON.
      responseData: data?.S ?? (data?.N === undefined ? undefined : Number(data.N)),
      ...(owner === undefined ? {} : { owner }),
    });
  }
}

function isOwned(record: IdempotencyRecord): record is OwnedIdempotencyRecord & { owner: string } {
  return record instanceof OwnedIdempotencyRecord && record.owner !== undefined;
}
