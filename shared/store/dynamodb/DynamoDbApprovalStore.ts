import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { ApprovalRecord, ApprovalStore } from '../../core/ports/Approvals.ts';
import { checkLimit, instantMs } from '../storeInput.ts';

type Item = Record<string, AttributeValue>;

export interface DynamoDbApprovalStoreOptions {
  client: DynamoDBClient;
  /** The idempotency table: held results live beside the claims, under keys of their own. */
  tableName: string;
}

/** Claims are `<prefix>#<hash>`; a held result is `approval#<result id>` and has no `expiration`, so TTL leaves it. */
const KEY_PREFIX = 'approval#';
const KIND = 'nearmesh.approval';

/**
 * Held results in the idempotency table (one item each, partition key `id`). Holding is a put
 * conditional on the key being new; a decision is an update conditional on `status = pending`
 * (DynamoDB evaluates it atomically, so of two approvals at once exactly one updates, and the
 * other gets the item as it found it); reopening is conditional on the decision it undoes.
 * The Lambda needs only GetItem, PutItem and UpdateItem, which it has on the table already;
 * listing scans the table (`dynamodb:Scan`), for an operator's tools, not the function.
 *
 * @example
 * const approvals = new DynamoDbApprovalStore({ client: new DynamoDBClient({}), tableName: process.env.MESH_IDEMPOTENCY_TABLE! });
 */
export class DynamoDbApprovalStore implements ApprovalStore {
  constructor(private readonly opts: DynamoDbApprovalStoreOptions) {}

  async hold(record: ApprovalRecord): Promise<boolean> {
    const item: Item = {
      id: { S: KEY_PREFIX + record.resultId },
      kind: { S: KIND },
      resultId: { S: record.resultId },
      routeId: { S: record.routeId },
      inputId: { S: record.inputId },
      heldAt: { S: record.heldAt },
      heldAtMs: { N: String(instantMs(record.heldAt, 'heldAt')) },
      status: { S: 'pending' },
      result: { S: JSON.stringify(record.result) },
      destinations: { S: JSON.stringify(record.destinations) },
    };
    try {
      await this.call('hold', record.resultId, () =>
        this.opts.client.send(new PutItemCommand({ TableName: this.opts.tableName, Item: item, ConditionExpression: 'attribute_not_exists(id)' })),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async get(resultId: string): Promise<ApprovalRecord | undefined> {
    const { Item } = await this.call('read', resultId, () =>
      this.opts.client.send(new GetItemCommand({ TableName: this.opts.tableName, Key: { id: { S: KEY_PREFIX + resultId } }, ConsistentRead: true })),
    );
    return Item ? toRecord(Item) : undefined;
  }

  async list(filter: { status?: ApprovalRecord['status']; routeId?: string; limit?: number } = {}): Promise<ApprovalRecord[]> {
    const limit = checkLimit(filter.limit);
    const conditions = ['kind = :kind'];
    const values: Item = { ':kind': { S: KIND } };
    if (filter.status !== undefined) {
      conditions.push('#status = :status');
      values[':status'] = { S: filter.status };
    }
    if (filter.routeId !== undefined) {
      conditions.push('routeId = :route');
      values[':route'] = { S: filter.routeId };
    }
    const found: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.call('list', '*', () =>
        this.opts.client.send(
          new ScanCommand({
            TableName: this.opts.tableName,
            FilterExpression: conditions.join(' AND '),
            ExpressionAttributeValues: values,
            ...(filter.status !== undefined ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      found.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    const records = found.map(toRecord).sort((a, b) => Date.parse(b.heldAt) - Date.parse(a.heldAt) || (a.resultId < b.resultId ? 1 : -1));
    return limit === undefined ? records : records.slice(0, limit);
  }

  async decide(resultId: string, decision: { status: 'approved' | 'rejected'; actor: string; at: string; reason?: string }) {
    instantMs(decision.at, 'at');
    const values: Item = { ':pending': { S: 'pending' }, ':status': { S: decision.status }, ':at': { S: decision.at }, ':actor': { S: decision.actor } };
    if (decision.reason !== undefined) values[':reason'] = { S: decision.reason };
    try {
      const { Attributes } = await this.call('decide', resultId, () =>
        this.opts.client.send(
          new UpdateItemCommand({
            TableName: this.opts.tableName,
            Key: { id: { S: KEY_PREFIX + resultId } },
            UpdateExpression: `SET #status = :status, decidedAt = :at, actor = :actor${decision.reason !== undefined ? ', reason = :reason' : ''}`,
            ConditionExpression: 'attribute_exists(id) AND #status = :pending',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return { decided: true as const, record: toRecord(Attributes!) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return { decided: false as const, record: err.Item ? toRecord(err.Item) : undefined };
    }
  }

  async reopen(resultId: string, decision: { actor: string; at: string }): Promise<void> {
    try {
      await this.call('reopen', resultId, () =>
        this.opts.client.send(
          new UpdateItemCommand({
            TableName: this.opts.tableName,
            Key: { id: { S: KEY_PREFIX + resultId } },
            UpdateExpression: 'SET #status = :pending REMOVE decidedAt, actor, reason',
            ConditionExpression: '#status = :approved AND decidedAt = :at AND actor = :actor',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':pending': { S: 'pending' }, ':approved': { S: 'approved' }, ':at': { S: decision.at }, ':actor': { S: decision.actor } },
          }),
        ),
      );
    } catch (err) {
      // Decided otherwise since (or gone): nothing of this approval to undo.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /** Run one SDK call; a refused condition stays as it is (the caller decides on it), anything else is retryable. */
  private async call<T>(what: string, resultId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw err;
      const e = err as { name?: string; message?: string };
      throw new StoreUnavailableError(`could not ${what} held result ${resultId} in table ${this.opts.tableName}: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`, {
        cause: err,
        context: { resultId, table: this.opts.tableName },
      });
    }
  }
}

function toRecord(item: Item): ApprovalRecord {
  const s = (name: string) => item[name]?.S;
  return {
    resultId: s('resultId')!,
    routeId: s('routeId')!,
    inputId: s('inputId')!,
    heldAt: s('heldAt')!,
    status: s('status') as ApprovalRecord['status'],
    result: JSON.parse(s('result')!) as ApprovalRecord['result'],
    destinations: JSON.parse(s('destinations')!) as ApprovalRecord['destinations'],
    ...(s('decidedAt') === undefined ? {} : { decidedAt: s('decidedAt')! }),
    ...(s('actor') === undefined ? {} : { actor: s('actor')! }),
    ...(s('reason') === undefined ? {} : { reason: s('reason')! }),
  };
}
