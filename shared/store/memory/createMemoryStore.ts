import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../core/clock.ts';
import { claimLost } from '../claimLost.ts';
import type {
  EventLog,
  EventLogEntry,
  EventLogFilter,
  FailureFilter,
  FailureLedger,
  FailureRecord,
  IdempotencyBegin,
  IdempotencyStore,
  ReplayRecord,
  Store,
} from '../../core/ports/Store.ts';
import { checkLimit, instantMs, jsonCopy } from '../storeInput.ts';
import type { AuditTrail } from '../../core/ports/AuditLog.ts';
import type { UsageCounters } from '../../core/ports/Counters.ts';
import { memoryAuditTrail } from './memoryAuditTrail.ts';
import { memoryCounters } from './memoryCounters.ts';
import { memoryApprovals } from './memoryApprovals.ts';

/** The Store port, plus the audit trail of model invocations (give it to the Pipeline as `audit`). */
export interface MemoryStore extends Store {
  audit: AuditTrail;
  counters: UsageCounters;
}

export interface MemoryStoreOptions {
  /** Decides whether an idempotency claim has expired. Defaults to the system clock. */
  clock?: Clock;
}

/**
 * A Store that lives in this process only, with the same semantics as the embedded store
 * (one contract suite runs against both). For unit tests and throwaway runs.
 *
 * @example
 * const store = createMemoryStore({ clock: new FakeClock() });
 * const claim = await store.idempotency.begin('route-a:evt-1', new Date(Date.now() + 60_000)); // { state: 'claimed', token }
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const clock = options.clock ?? systemClock;
  return {
    idempotency: memoryIdempotency(clock),
    failures: memoryFailureLedger(),
    events: memoryEventLog(),
    audit: memoryAuditTrail(),
    counters: memoryCounters(clock),
    approvals: memoryApprovals(),
    close: async () => {},
  };
}

interface Claim {
  status: 'in-progress' | 'completed';
  /** The token of whoever holds (or completed) the claim. */
  owner: string;
  resultId?: string;
  expiresAtMs: number;
}

function memoryIdempotency(clock: Clock): IdempotencyStore {
  const claims = new Map<string, Claim>();
  const held = (key: string) => {
    const claim = claims.get(key);
    if (claim?.status === 'completed') return { state: 'completed', resultId: claim.resultId ?? '' } as const;
    if (claim && claim.expiresAtMs > clock.now().getTime()) return { state: 'in-progress' } as const;
    return undefined;
  };
  /** The in-progress claim `token` holds, or ClaimLostError naming what it found instead. */
  const owned = (key: string, token: string, what: 'renew' | 'complete' | 'release'): Claim => {
    const claim = claims.get(key);
    if (claim?.status === 'in-progress' && claim.owner === token) return claim;
    throw claimLost(key, what, claim === undefined ? 'nobody holds it' : claim.status === 'completed' ? 'it is completed' : 'another owner holds it');
  };
  return {
    async peek(key) {
      return held(key);
    },
    async begin(key, expiresAt): Promise<IdempotencyBegin> {
      const state = held(key);
      if (state) return state;
      const token = randomUUID();
      claims.set(key, { status: 'in-progress', owner: token, expiresAtMs: expiresAt.getTime() });
      return { state: 'claimed', token };
    },
    async renew(key, token, expiresAt) {
      owned(key, token, 'renew').expiresAtMs = expiresAt.getTime();
    },
    async complete(key, token, resultId) {
      const claim = claims.get(key);
      if (claim?.status === 'completed' && claim.resultId === resultId) return;
      const mine = owned(key, token, 'complete');
      claims.set(key, { ...mine, status: 'completed', resultId });
    },
    async release(key, token) {
      const claim = claims.get(key);
      if (claim?.status !== 'in-progress') return;
      owned(key, token, 'release');
      claims.delete(key);
    },
  };
}

function memoryFailureLedger(): FailureLedger {
  const records = new Map<string, { record: FailureRecord; atMs: number }>();
  const replays = new Map<string, ReplayRecord[]>();
  return {
    async recordFailure(input) {
      const atMs = instantMs(input.at, 'at');
      const record = jsonCopy(input);
      const earlier = records.get(record.id)?.record;
      if (!earlier) {
        records.set(record.id, { record, atMs });
        return;
      }
      // The same route + event failed again: the latest error wins, the original event and the count stay.
      const updated: FailureRecord = {
        ...earlier,
        at: record.at,
        errorCode: record.errorCode,
        message: record.message,
        retryable: record.retryable,
        attempts: record.attempts,
        status: 'open',
        failures: earlier.failures + 1,
      };
      if (record.placement) updated.placement = record.placement;
      else delete updated.placement;
      records.set(record.id, { record: updated, atMs });
    },
    async listFailures(filter: FailureFilter = {}) {
      const limit = checkLimit(filter.limit);
      const sinceMs = filter.since === undefined ? undefined : instantMs(filter.since, 'since');
      const untilMs = filter.until === undefined ? undefined : instantMs(filter.until, 'until');
      const found = [...records.values()]
        .filter(({ record: r, atMs }) =>
          (filter.routeId === undefined || r.routeId === filter.routeId) &&
          (filter.errorCode === undefined || r.errorCode === filter.errorCode) &&
          (filter.status === undefined || r.status === filter.status) &&
          (sinceMs === undefined || atMs >= sinceMs) &&
          (untilMs === undefined || atMs <= untilMs),
        )
        // Newest first; equal instants by id descending, as the embedded store orders them.
        .sort((a, b) => b.atMs - a.atMs || (a.record.id < b.record.id ? 1 : a.record.id > b.record.id ? -1 : 0));
      // Copy only what is returned: copying the whole ledger made a `limit` cost as much as none.
      return (limit === undefined ? found : found.slice(0, limit)).map(({ record }) => jsonCopy(record));
    },
    async getFailure(id) {
      const found = records.get(id);
      if (!found) return undefined;
      const history = replays.get(id);
      return jsonCopy(history ? { ...found.record, replays: history } : found.record);
    },
    async recordReplay(id, replay) {
      if (!records.has(id)) return;
      replays.set(id, [...(replays.get(id) ?? []), jsonCopy(replay)]);
    },
    async resolveFailure(id) {
      const found = records.get(id);
      if (found) found.record.status = 'resolved';
    },
  };
}

function memoryEventLog(): EventLog {
  const entries: EventLogEntry[] = [];
  return {
    async append(entry) {
      entries.push({ ...jsonCopy(entry), seq: entries.length + 1 });
    },
    async listEvents(filter: EventLogFilter = {}) {
      const limit = checkLimit(filter.limit);
      const found = entries.filter(
        (e) =>
          (filter.afterSeq === undefined || e.seq! > filter.afterSeq) &&
          (filter.kind === undefined || e.kind === filter.kind) &&
          (filter.routeId === undefined || e.routeId === filter.routeId),
      );
      return (limit === undefined ? found : found.slice(0, limit)).map(jsonCopy);
    },
  };
}
