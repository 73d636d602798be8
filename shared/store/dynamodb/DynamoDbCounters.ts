import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { CounterWindow, UsageCounters } from '../../core/ports/Counters.ts';
import { checkCounter, windowEndMs } from '../counterInput.ts';

export interface DynamoDbCountersOptions {
  client: DynamoDBClient;
  /** The counters table: partition key `id` (S), TTL on `expiration` (epoch seconds). */
  tableName: string;
}

/** How many times `adjust` goes round when another instance changes the counter between its two conditional writes. */
const MAX_ROUNDS = 5;

/**
 * Usage counters in their own DynamoDB table, one item per counter and window (`id` =
 * `<window start ms>+<window length ms>/<key>`, `used`, `expiration`). Every update is one conditional UpdateItem,
 * which DynamoDB applies atomically, so instances never both take the last unit of a window:
 *
 * - `reserve`: `ADD used :n` on condition `attribute_not_exists(used) OR used <= :limit - :n`;
 *   a failed condition changes nothing and hands back the item as it was (ALL_OLD).
 * - `adjust`: `ADD` whatever the total, except that a negative amount larger than the counter
 *   sets it to 0 instead (two conditional writes, retried when another instance got between them).
 *
 * `expiration` is the window's end: DynamoDB's TTL deletes ended windows (within days; a stale
 * item is harmless, as a new window is a new item). Only UpdateItem and GetItem are used.
 * Trouble with the table becomes a retryable StoreUnavailableError naming the counter, the
 * table and the service's error code; the SDK error itself is not kept (its text and request
 * details would end up in logs).
 *
 * @example
 * const counters = new DynamoDbCounters({ client: new DynamoDBClient({}), tableName: 'nearmesh-counters' });
 * const { ok, used } = await counters.reserve('limit:bedrock-eu:rpm', counterWindow('minute', Date.now()), 1, 60);
 */
export class DynamoDbCounters implements UsageCounters {
  constructor(private readonly options: DynamoDbCountersOptions) {}

  async reserve(key: string, window: CounterWindow, amount: number, limit: number): Promise<{ ok: boolean; used: number }> {
    checkCounter(key, window, { value: amount, reserve: true }, limit);
    // The condition below would let a new item take any amount: one larger than the limit never fits.
    if (amount > limit) return { ok: false, used: await this.read(key, window) };
    try {
      const used = await this.update('reserve', key, window, {
        UpdateExpression: 'ADD #used :n SET #expiration = :expiration',
        ConditionExpression: 'attribute_not_exists(#used) OR #used <= :room',
        ExpressionAttributeValues: { ':n': num(amount), ':room': num(limit - amount) },
      });
      return { ok: true, used };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return { ok: false, used: usedOf(err.Item) };
    }
  }

  async adjust(key: string, window: CounterWindow, amount: number): Promise<number> {
    checkCounter(key, window, { value: amount, reserve: false });
    if (amount >= 0) return this.update('adjust', key, window, { UpdateExpression: 'ADD #used :n SET #expiration = :expiration', ExpressionAttributeValues: { ':n': num(amount) } });
    const give = num(-amount);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      try {
        return await this.update('adjust', key, window, {
          UpdateExpression: 'ADD #used :n SET #expiration = :expiration',
          ConditionExpression: '#used >= :give',
          ExpressionAttributeValues: { ':n': num(amount), ':give': give },
        });
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
      // Less than the amount is counted (or nothing): the counter goes to 0, unless another
      // instance added enough meanwhile, in which case the subtraction is tried again.
      try {
        return await this.update('adjust', key, window, {
          UpdateExpression: 'SET #used = :zero, #expiration = :expiration',
          ConditionExpression: 'attribute_not_exists(#used) OR #used < :give',
          ExpressionAttributeValues: { ':zero': num(0), ':give': give },
        });
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
    throw this.unavailable('adjust', key, window, `the counter kept changing under ${MAX_ROUNDS} rounds`, {});
  }

  async read(key: string, window: CounterWindow): Promise<number> {
    checkCounter(key, window);
    try {
      const { Item } = await this.options.client.send(
        new GetItemCommand({ TableName: this.options.tableName, Key: { id: { S: itemId(key, window) } }, ConsistentRead: true, ProjectionExpression: '#used', ExpressionAttributeNames: { '#used': 'used' } }),
      );
      return usedOf(Item);
    } catch (err) {
      throw this.translate('read', key, window, err);
    }
  }

  /** One UpdateItem on the window's item; returns `used` after it. A failed condition is thrown as it is. */
  private async update(
    what: string,
    key: string,
    window: CounterWindow,
    expression: { UpdateExpression: string; ConditionExpression?: string; ExpressionAttributeValues: Record<string, AttributeValue> },
  ): Promise<number> {
    try {
      const { Attributes } = await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: { id: { S: itemId(key, window) } },
          ...expression,
          ExpressionAttributeNames: { '#used': 'used', '#expiration': 'expiration' },
          ExpressionAttributeValues: { ...expression.ExpressionAttributeValues, ':expiration': num(Math.ceil(windowEndMs(window) / 1000)) },
          ReturnValues: 'UPDATED_NEW',
          ...(expression.ConditionExpression ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } : {}),
        }),
      );
      return usedOf(Attributes);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw err;
      throw this.translate(what, key, window, err);
    }
  }

  private translate(what: string, key: string, window: CounterWindow, err: unknown): StoreUnavailableError {
    const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
    const code = typeof e?.name === 'string' ? e.name : 'Error';
    const status = typeof e?.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
    const advice =
      code === 'ResourceNotFoundException'
        ? 'the table does not exist: deploy it with serverless.yml (CountersTable) or set MESH_COUNTERS_TABLE'
        : code === 'AccessDeniedException'
          ? "the function's role may not use the table: grant dynamodb:UpdateItem and dynamodb:GetItem on it"
          : 'retrying';
    return this.unavailable(what, key, window, `${code}${status === undefined ? '' : ` (${status})`}; ${advice}`, { errorCode: code, ...(status === undefined ? {} : { status }) });
  }

  private unavailable(what: string, key: string, window: CounterWindow, why: string, context: Record<string, unknown>): StoreUnavailableError {
    const table = this.options.tableName;
    return new StoreUnavailableError(`usage counter ${key} (window from ${new Date(window.startMs).toISOString()}): could not ${what} in DynamoDB table ${table}: ${why}`, {
      context: { counter: key, windowStartMs: window.startMs, table, ...context },
    });
  }
}

/** The window (start and length: a minute and an hour may start together) first, then the key. */
function itemId(key: string, window: CounterWindow): string {
  return `${window.startMs}+${window.lengthMs}/${key}`;
}

function num(n: number): AttributeValue {
  return { N: String(n) };
}

function usedOf(item: Record<string, AttributeValue> | undefined): number {
  const n = item?.used?.N;
  return n === undefined ? 0 : Number(n);
}
