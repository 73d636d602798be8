import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A wire-level fake of DynamoDB for the real DynamoDBClient (AWS JSON 1.0,
 * `X-Amz-Target: DynamoDB_20120810.<Operation>`): GetItem; PutItem, UpdateItem (`SET a = :v, …`,
 * `REMOVE a, …` and `ADD a :n, …` of numbers; ReturnValues UPDATED_NEW / ALL_NEW) and DeleteItem,
 * each with an optional ConditionExpression; Scan with an optional FilterExpression (one page). As DynamoDB
 * does, a failed condition changes nothing and answers ConditionalCheckFailedException,
 * carrying the item as it was when ReturnValuesOnConditionCheckFailure is ALL_OLD (and the
 * item exists). That is what Powertools' DynamoDB persistence layer and the fenced layer
 * send; condition expressions support attribute_exists / attribute_not_exists, comparisons
 * (`=`, `<>`, `<`, `<=`, `>`, `>=`) of `#name`, plain names and `:values`, AND, OR, NOT and
 * parentheses.
 */

type AttributeValue = { S?: string; N?: string; BOOL?: boolean; NULL?: boolean; [k: string]: unknown };
type Item = Record<string, AttributeValue>;

export interface DynamoCall {
  operation: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary wire fields
  body: any;
}

export interface DynamoDbFake {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL_DYNAMODB or the client's `endpoint`. */
  url: string;
  calls: DynamoCall[];
  /** Create a table keyed by one partition key attribute. */
  createTable(name: string, keyAttr?: string): void;
  /** Items of a table, as stored (DynamoDB JSON). */
  items(table: string): Item[];
  /** Answer the next calls with this error (`ProvisionedThroughputExceededException`, …). */
  failNext(type: string, status?: number, times?: number): void;
  close(): Promise<void>;
}

/**
 * Start the fake on a free port.
 *
 * @example
 * const fake = await startDynamoDbFake();
 * fake.createTable('idempotency');
 * // … new DynamoDBClient({ endpoint: fake.url, region: 'us-east-1', … }) …
 */
export async function startDynamoDbFake(): Promise<DynamoDbFake> {
  const tables = new Map<string, { keyAttr: string; items: Map<string, Item> }>();
  const calls: DynamoCall[] = [];
  const failures: { type: string; status: number }[] = [];

  const table = (name: string) => {
    const t = tables.get(name);
    if (!t) throw new AwsError(400, 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', `Requested resource not found: Table: ${name} not found`);
    return t;
  };
  const keyOf = (t: { keyAttr: string }, key: Item) => JSON.stringify(key[t.keyAttr]);

  const operations: Record<string, (b: Record<string, unknown>) => unknown> = {
    PutItem(b) {
      const t = table(b.TableName as string);
      const item = b.Item as Item;
      const k = keyOf(t, item);
      check(b, t.items.get(k));
      t.items.set(k, item);
      return {};
    },
    GetItem(b) {
      const t = table(b.TableName as string);
      const item = t.items.get(keyOf(t, b.Key as Item));
      return item ? { Item: item } : {};
    },
    UpdateItem(b) {
      const t = table(b.TableName as string);
      const key = b.Key as Item;
      const k = keyOf(t, key);
      const existing = t.items.get(k);
      check(b, existing);
      // An update of a missing item creates it (when its condition allowed that).
      const item: Item = { ...(existing ?? key) };
      const names = (b.ExpressionAttributeNames ?? {}) as Record<string, string>;
      const values = (b.ExpressionAttributeValues ?? {}) as Item;
      const expression = String(b.UpdateExpression);
      const clauses = [...expression.matchAll(/\b(SET|REMOVE|ADD)\s+(.+?)(?=\s+\b(?:SET|REMOVE|ADD)\b|$)/gi)];
      if (clauses.length === 0) throw new AwsError(400, 'com.amazonaws.dynamodb.v20120810#ValidationException', `the fake supports SET, REMOVE and ADD (of numbers) only: ${expression}`);
      const updated = new Set<string>();
      for (const [, action, body] of clauses) {
        for (const part of body!.split(',')) {
          if (action!.toUpperCase() === 'REMOVE') {
            delete item[names[part.trim()] ?? part.trim()];
            continue;
          }
          if (action!.toUpperCase() === 'ADD') {
            // `ADD a :n`: a missing attribute counts from 0, as DynamoDB's ADD of a number does.
            const [path, rhs] = part.trim().split(/\s+/);
            const name = names[path!] ?? path!;
            const value = values[rhs!];
            if (value?.N === undefined) throw new AwsError(400, 'com.amazonaws.dynamodb.v20120810#ValidationException', `the fake supports ADD of a number only: ${part}`);
            const current = item[name];
            if (current !== undefined && current.N === undefined) throw new AwsError(400, 'com.amazonaws.dynamodb.v20120810#ValidationException', 'An operand in the update expression has an incorrect data type');
            item[name] = { N: String(Number(current?.N ?? 0) + Number(value.N)) };
            updated.add(name);
            continue;
          }
          const [lhs, rhs] = part.split('=').map((x) => x.trim());
          const value = values[rhs!];
          if (value === undefined) throw new AwsError(400, 'com.amazonaws.dynamodb.v20120810#ValidationException', `An expression attribute value used in expression is not defined: ${rhs}`);
          item[names[lhs!] ?? lhs!] = value;
          updated.add(names[lhs!] ?? lhs!);
        }
      }
      t.items.set(k, item);
      // ReturnValues: UPDATED_NEW gives the attributes the update wrote, ALL_NEW the whole item.
      if (b.ReturnValues === 'ALL_NEW') return { Attributes: item };
      if (b.ReturnValues === 'UPDATED_NEW') return { Attributes: Object.fromEntries(Object.entries(item).filter(([name]) => updated.has(name))) };
      return {};
    },
    /** One page holding every item that passes FilterExpression (the fake has no 1 MB pages). */
    Scan(b) {
      const t = table(b.TableName as string);
      const items = [...t.items.values()].filter((item) => typeof b.FilterExpression !== 'string' || evaluate(b.FilterExpression, item, b));
      return { Items: items, Count: items.length, ScannedCount: t.items.size };
    },
    DeleteItem(b) {
      const t = table(b.TableName as string);
      const k = keyOf(t, b.Key as Item);
      check(b, t.items.get(k));
      t.items.delete(k);
      return {};
    },
  };

  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^DynamoDB_20120810\./, '');
    const body = JSON.parse(text || '{}') as Record<string, unknown>;
    calls.push({ operation, body });
    try {
      const failure = failures.shift();
      if (failure) throw new AwsError(failure.status, `com.amazonaws.dynamodb.v20120810#${failure.type}`, failure.type);
      const op = operations[operation];
      if (!op) throw new AwsError(400, 'UnknownOperationException', `the fake does not speak ${operation}`);
      send(res, 200, op(body));
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      send(res, err.status, { __type: err.type, message: err.message, ...err.extra });
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    createTable: (name, keyAttr = 'id') => void tables.set(name, { keyAttr, items: new Map() }),
    items: (name) => [...(tables.get(name)?.items.values() ?? [])],
    failNext: (type, status = 400, times = 1) => {
      for (let i = 0; i < times; i++) failures.push({ type, status });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Throw ConditionalCheckFailedException when the request's condition does not hold for `existing`. */
function check(b: Record<string, unknown>, existing: Item | undefined): void {
  if (typeof b.ConditionExpression !== 'string' || evaluate(b.ConditionExpression, existing, b)) return;
  const extra = b.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && existing ? { Item: existing } : {};
  throw new AwsError(400, 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', 'The conditional request failed', extra);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
  res.end(text);
}

/** Evaluate a condition expression against the stored item (undefined: none stored). */
function evaluate(expression: string, item: Item | undefined, b: Record<string, unknown>): boolean {
  const names = (b.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (b.ExpressionAttributeValues ?? {}) as Item;
  const tokens = expression.match(/\(|\)|<>|<=|>=|=|<|>|,|[#:]?[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++]!;
  const attr = (t: string) => {
    if (t.startsWith('#') && names[t] === undefined) throw new AwsError(400, 'com.amazonaws.dynamodb.v20120810#ValidationException', `An expression attribute name used in the document path is not defined; attribute name: ${t}`);
    return item?.[names[t] ?? t];
  };
  const operand = (t: string): AttributeValue | undefined => {
    if (!t.startsWith(':')) return attr(t);
    if (values[t] === undefined) throw new AwsError(400, 'com.amazonaws.dynamodb.v20120810#ValidationException', `An expression attribute value used in expression is not defined; attribute value: ${t}`);
    return values[t];
  };

  const orExpr = (): boolean => {
    let v = andExpr();
    while (peek()?.toUpperCase() === 'OR') {
      next();
      const r = andExpr();
      v = v || r;
    }
    return v;
  };
  const andExpr = (): boolean => {
    let v = unary();
    while (peek()?.toUpperCase() === 'AND') {
      next();
      const r = unary();
      v = v && r;
    }
    return v;
  };
  const unary = (): boolean => {
    if (peek()?.toUpperCase() === 'NOT') {
      next();
      return !unary();
    }
    if (peek() === '(') {
      next();
      const v = orExpr();
      next(); // ')'
      return v;
    }
    const t = next();
    if (t === 'attribute_exists' || t === 'attribute_not_exists') {
      next(); // '('
      const exists = attr(next()) !== undefined;
      next(); // ')'
      return t === 'attribute_exists' ? exists : !exists;
    }
    const op = next();
    return compare(operand(t), op, operand(next()));
  };
  const result = orExpr();
  if (i !== tokens.length) throw new AwsError(400, 'com.amazonaws.dynamodb.v20120810#ValidationException', `the fake could not parse the condition: ${expression}`);
  return result;
}

function compare(a: AttributeValue | undefined, op: string, b: AttributeValue | undefined): boolean {
  if (a === undefined || b === undefined) return op === '<>';
  const x: string | number = a.N !== undefined ? Number(a.N) : String(a.S);
  const y: string | number = b.N !== undefined ? Number(b.N) : String(b.S);
  switch (op) {
    case '=': return x === y;
    case '<>': return x !== y;
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    case '>=': return x >= y;
    default: throw new Error(`the fake does not support the operator ${op}`);
  }
}
