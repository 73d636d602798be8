import type { Envelope } from '../envelope.ts';
import type { ApprovalStore } from './Approvals.ts';
import type { UsageCounters } from './Counters.ts';
import type { PlacementDecision } from './Placer.ts';

/** One model call (or publish) attempt, as kept in the failure ledger and provenance. */
export interface Attempt {
  endpoint: string;
  region?: string;
  attempt: number;
  startedAt: string;
  latencyMs: number;
  /** Absent on success. */
  error?: { code: string; message: string; retryable: boolean };
}

export type IdempotencyBegin =
  /** `token` proves ownership of the claim: renew, complete and release must present it. */
  | { state: 'claimed'; token: string }
  | { state: 'completed'; resultId: string }
  | { state: 'in-progress' };

/**
 * At-most-once side effects per key (route id + input event id). A claim is a lease with an
 * owner: `begin` hands out a fresh token, and `renew`, `complete` and `release` succeed only
 * for the token that holds the claim now (a conditional write in every adapter). A holder
 * that outlived its lease gets `ClaimLostError` and must not publish over the new owner.
 */
export interface IdempotencyStore {
  /** Look without claiming (for dry runs): completed, held by an unexpired claim, or nothing. */
  peek(key: string): Promise<Exclude<IdempotencyBegin, { state: 'claimed' }> | undefined>;
  /** Claim `key` until `expiresAt`; a claim that expired may be taken over (with a new token). */
  begin(key: string, expiresAt: Date): Promise<IdempotencyBegin>;
  /** Extend the lease `token` holds to `expiresAt` (before publishing). Throws `ClaimLostError` when `token` no longer holds it. */
  renew(key: string, token: string, expiresAt: Date): Promise<void>;
  /**
   * Mark the claim `token` holds completed with `resultId`. Throws `ClaimLostError` when another
   * owner holds it or it is gone; completing again with the same result id is a no-op.
   */
  complete(key: string, token: string, resultId: string): Promise<void>;
  /**
   * Drop the in-progress claim `token` holds after a failure, so a retry or replay can claim it
   * again. Throws `ClaimLostError` when another owner holds it; a missing or completed record is left alone.
   */
  release(key: string, token: string): Promise<void>;
}

export interface FailureRecord {
  /** Ledger id (stable per route + event: a second failure updates the same record). */
  id: string;
  at: string;
  eventId: string;
  routeId?: string;
  errorCode: string;
  message: string;
  retryable: boolean;
  attempts: Attempt[];
  placement?: PlacementDecision;
  /** The original event, exactly as decoded, so it can be replayed unchanged. */
  envelope: Envelope;
  status: 'open' | 'resolved';
  /** How many times this event has failed on this route. */
  failures: number;
  /** Every replay tried so far, oldest first. Only `getFailure` returns it; absent when none. */
  replays?: ReplayRecord[];
}

/** One replay of a failed event: who, when, with what, and how it ended. */
export interface ReplayRecord {
  at: string;
  /** The OS user or `--actor`. */
  actor: string;
  outcome: 'succeeded' | 'failed-again' | 'already-done' | 'not-replayed';
  /** The result id on success, the new reason on failure. */
  detail: string;
  /** The options that changed how it ran (`--model`, `--route-override`), for the next engineer. */
  options?: Record<string, string>;
}

export interface FailureFilter {
  routeId?: string;
  errorCode?: string;
  status?: 'open' | 'resolved';
  since?: string;
  until?: string;
  limit?: number;
}

export interface FailureLedger {
  /** Insert, or update the open record for the same route + event (keeping its history count). */
  recordFailure(record: FailureRecord): Promise<void>;
  listFailures(filter?: FailureFilter): Promise<FailureRecord[]>;
  getFailure(id: string): Promise<FailureRecord | undefined>;
  /** Mark resolved; a no-op for an unknown id, and a resolved one keeps its first resolution. */
  resolveFailure(id: string): Promise<void>;
  /** Append to a failure's replay history (a no-op for an unknown id). */
  recordReplay(id: string, replay: ReplayRecord): Promise<void>;
}

export interface EventLogEntry {
  /** Monotonic sequence number assigned by the log. */
  seq?: number;
  at: string;
  kind: 'input' | 'result';
  eventId: string;
  type: string;
  source: string;
  /** The route that produced a result. */
  routeId?: string;
  /** The destination name a result was published to. */
  destination?: string;
  envelope: Envelope;
}

export interface EventLogFilter {
  kind?: 'input' | 'result';
  routeId?: string;
  afterSeq?: number;
  limit?: number;
}

export interface EventLog {
  append(entry: EventLogEntry): Promise<void>;
  listEvents(filter?: EventLogFilter): Promise<EventLogEntry[]>;
}

/** Everything the local mesh keeps. The embedded adapter holds it all in one database. */
export interface Store {
  idempotency: IdempotencyStore;
  failures: FailureLedger;
  events: EventLog;
  /**
   * Counters for route budgets and endpoint rate limits, kept where the claims are so that every
   * instance of an edge shares them. Absent: budgets and limits cannot be enforced, and a mesh
   * that declares any refuses to start.
   */
  counters?: UsageCounters;
  /**
   * Runs `fn` (one event's steps) as one unit of work where the store can: its writes share
   * commits instead of paying one each, and the returned promise settles only once all of them
   * are durable — it rejects when they could not be committed, whatever `fn` returned. Stores
   * without it (each write durable on its own) run `fn` as it is.
   */
  unitOfWork?<T>(fn: () => Promise<T>): Promise<T>;
  /** Results held for approval (routes with `approval: required`). Absent: such routes refuse to start. */
  approvals?: ApprovalStore;
  close(): Promise<void>;
}
