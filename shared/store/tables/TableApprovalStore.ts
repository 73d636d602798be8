import type { TableClient } from '@azure/data-tables';
import type { ApprovalDecision, ApprovalFilter, ApprovalRecord, ApprovalStore, DecideOutcome } from '../../core/ports/Approvals.ts';
import { checkLimit, instantMs } from '../storeInput.ts';
import { TableStoreError } from './TableIdempotencyStore.ts';

export interface TableApprovalStoreOptions {
  /** The idempotency table's client: held results live beside the claims, in a partition of their own. */
  client: TableClient;
  /** Create the table on first use (as the claims do). Default true. */
  ensureTable?: boolean;
}

/** Claims are partitioned by route id (`[a-z0-9-]`), so a key starting with `_` can never be a route's. */
const PARTITION = '_approvals';
/** A string property holds at most 64 KiB (32 K UTF-16 units): the result's JSON is split into parts below that. */
const PART = 30_000;

interface ApprovalEntity {
  partitionKey: string;
  rowKey: string;
  resultId: string;
  routeId: string;
  inputId: string;
  heldAt: string;
  heldAtMs: number;
  status: ApprovalRecord['status'];
  destinations: string;
  resultParts: number;
  decidedAt?: string;
  actor?: string;
  reason?: string;
  [part: `result${number}`]: string;
}

/**
 * Held results in the idempotency table, partition `_approvals`, row key = the result id
 * (percent-encoded). Holding is an insert (409 when held already); a decision reads the entity
 * and writes it back with If-Match on the ETag it read, only if it was pending: of two
 * approvals at once one write wins, the other gets 412, reads again and finds it decided.
 * The result's JSON is kept in parts (`result0`, `result1`, …) under the 64 KiB property limit.
 *
 * @example
 * const approvals = new TableApprovalStore({ client: TableClient.fromConnectionString(cs, 'meshidempotency') });
 */
export class TableApprovalStore implements ApprovalStore {
  private ready: Promise<void> | undefined;

  constructor(private readonly opts: TableApprovalStoreOptions) {}

  async hold(record: ApprovalRecord): Promise<boolean> {
    const json = JSON.stringify(record.result);
    const parts = Math.max(1, Math.ceil(json.length / PART));
    const entity: ApprovalEntity = {
      partitionKey: PARTITION,
      rowKey: encodeURIComponent(record.resultId),
      resultId: record.resultId,
      routeId: record.routeId,
      inputId: record.inputId,
      heldAt: record.heldAt,
      heldAtMs: instantMs(record.heldAt, 'heldAt'),
      status: 'pending',
      destinations: JSON.stringify(record.destinations),
      resultParts: parts,
    };
    for (let i = 0; i < parts; i++) entity[`result${i}`] = json.slice(i * PART, (i + 1) * PART);
    try {
      await this.call('hold', record.resultId, (c) => c.createEntity(entity));
      return true;
    } catch (err) {
      if (status(err) === 409) return false;
      throw err;
    }
  }

  async get(resultId: string): Promise<ApprovalRecord | undefined> {
    return (await this.read(resultId))?.record;
  }

  async list(filter: ApprovalFilter = {}): Promise<ApprovalRecord[]> {
    const limit = checkLimit(filter.limit);
    const found: ApprovalRecord[] = [];
    await this.call('list', '*', async (c) => {
      for await (const entity of c.listEntities<ApprovalEntity>({ queryOptions: { filter: `PartitionKey eq '${PARTITION}'` } })) {
        const record = toRecord(entity);
        if ((filter.status === undefined || record.status === filter.status) && (filter.routeId === undefined || record.routeId === filter.routeId)) found.push(record);
      }
    });
    found.sort((a, b) => Date.parse(b.heldAt) - Date.parse(a.heldAt) || (a.resultId < b.resultId ? 1 : -1));
    return limit === undefined ? found : found.slice(0, limit);
  }

  async decide(resultId: string, decision: ApprovalDecision): Promise<DecideOutcome> {
    instantMs(decision.at, 'at');
    const found = await this.read(resultId);
    if (!found || found.record.status !== 'pending') return { decided: false, record: found?.record };
    const change = { partitionKey: PARTITION, rowKey: encodeURIComponent(resultId), status: decision.status, decidedAt: decision.at, actor: decision.actor, ...(decision.reason === undefined ? {} : { reason: decision.reason }) };
    try {
      await this.call('decide', resultId, (c) => c.updateEntity(change, 'Merge', { etag: found.etag }));
    } catch (err) {
      // Someone else wrote it since we read it: it is theirs now (decided, or gone).
      if (status(err) !== 412 && status(err) !== 404) throw err;
      return { decided: false, record: await this.get(resultId) };
    }
    const { status: _s, ...rest } = found.record;
    return { decided: true, record: { ...rest, status: decision.status, decidedAt: decision.at, actor: decision.actor, ...(decision.reason === undefined ? {} : { reason: decision.reason }) } };
  }

  async reopen(resultId: string, decision: ApprovalDecision): Promise<void> {
    const found = await this.read(resultId);
    const r = found?.record;
    if (!found || !r || r.status !== 'approved' || r.decidedAt !== decision.at || r.actor !== decision.actor) return;
    const { decidedAt: _d, actor: _a, reason: _r, ...pending } = found.entity;
    try {
      await this.call('reopen', resultId, (c) => c.updateEntity({ ...stripSystem(pending), status: 'pending' }, 'Replace', { etag: found.etag }));
    } catch (err) {
      if (status(err) !== 412 && status(err) !== 404) throw err;
    }
  }

  private async read(resultId: string): Promise<{ entity: ApprovalEntity; etag: string; record: ApprovalRecord } | undefined> {
    try {
      const entity = await this.call('read', resultId, (c) => c.getEntity<ApprovalEntity>(PARTITION, encodeURIComponent(resultId)));
      return { entity, etag: entity.etag, record: toRecord(entity) };
    } catch (err) {
      if (status(err) === 404 && errorCode(err) !== 'TableNotFound') return undefined;
      throw err;
    }
  }

  /** One SDK call; 409, 412 and an entity's 404 stay as they are (the caller decides on them), anything else is retryable. */
  private async call<T>(what: string, resultId: string, fn: (c: TableClient) => Promise<T>): Promise<T> {
    try {
      if (this.opts.ensureTable !== false) {
        this.ready ??= this.opts.client.createTable().catch((err: unknown) => {
          this.ready = undefined;
          if (status(err) !== 409) throw err;
        });
        await this.ready;
      }
      return await fn(this.opts.client);
    } catch (err) {
      const s = status(err);
      if (s === 409 || s === 412 || (s === 404 && errorCode(err) !== 'TableNotFound')) throw err;
      if (errorCode(err) === 'TableNotFound') this.ready = undefined;
      throw new TableStoreError(`held results in table ${this.opts.client.tableName}: could not ${what} ${resultId}: ${(err as Error).message ?? String(err)}`, {
        cause: err,
        context: { resultId, table: this.opts.client.tableName },
      });
    }
  }
}

function toRecord(e: ApprovalEntity): ApprovalRecord {
  let json = '';
  for (let i = 0; i < e.resultParts; i++) json += e[`result${i}`] ?? '';
  return {
    resultId: e.resultId,
    routeId: e.routeId,
    inputId: e.inputId,
    heldAt: e.heldAt,
    status: e.status,
    result: JSON.parse(json) as ApprovalRecord['result'],
    destinations: JSON.parse(e.destinations) as ApprovalRecord['destinations'],
    ...(e.decidedAt ? { decidedAt: e.decidedAt } : {}),
    ...(e.actor ? { actor: e.actor } : {}),
    ...(e.reason ? { reason: e.reason } : {}),
  };
}

/** The entity's own properties, without what the service added when it was read. */
function stripSystem<T extends object>(entity: T): T {
  const { etag: _e, timestamp: _t, ...own } = entity as T & { etag?: string; timestamp?: string };
  return own as T;
}

function status(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; details?: { errorCode?: unknown; odataError?: { code?: unknown } } } | null;
  const code = e?.details?.errorCode ?? e?.details?.odataError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}
