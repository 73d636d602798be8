import type { Envelope } from '../envelope.ts';
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
  | { state: 'claimed' }
  | { state: 'completed'; resultId: string }
  | { state: 'in-progress' };

/** At-most-once side effects per key (route id + input event id). */
export interface IdempotencyStore {
  /** Look without claiming (for dry runs): completed, held by an unexpired claim, or nothing. */
  peek(key: string): Promise<Exclude<IdempotencyBegin, { state: 'claimed' }> | undefined>;
  /** Claim `key` until `expiresAt`; a claim that expired may be taken over. */
  begin(key: string, expiresAt: Date): Promise<IdempotencyBegin>;
  complete(key: string, resultId: string): Promise<void>;
  /** Drop an in-progress claim after a failure, so a retry or replay can claim it again. */
  release(key: string): Promise<void>;
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
  close(): Promise<void>;
}
