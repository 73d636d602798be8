import type { Destination } from '../catalogue.ts';
import type { Envelope } from '../envelope.ts';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected';

/** A result a route (`approval: required`) holds until someone decides on it. */
export interface ApprovalRecord {
  /** The held result's id (deterministic: route id + input id). The record's key. */
  resultId: string;
  routeId: string;
  /** The input event the result answers. */
  inputId: string;
  /** When it was held (ISO 8601). */
  heldAt: string;
  status: ApprovalStatus;
  /** The result event exactly as it will be published on approval. */
  result: Envelope;
  /** Where it goes on approval (resolved when it was held: the route's, or the input's origin). */
  destinations: Destination[];
  /** Set once decided: when, by whom, and (rejections) why. */
  decidedAt?: string;
  actor?: string;
  reason?: string;
}

/** A decision on a pending record. */
export interface ApprovalDecision {
  status: 'approved' | 'rejected';
  actor: string;
  /** ISO 8601. */
  at: string;
  reason?: string;
}

export interface ApprovalFilter {
  status?: ApprovalStatus;
  routeId?: string;
  limit?: number;
}

/** What `decide` did: decided now, or refused because the record is not pending (or missing) — `record` as found. */
export type DecideOutcome = { decided: true; record: ApprovalRecord } | { decided: false; record: ApprovalRecord | undefined };

/**
 * Held results waiting for a human. Every state change is a conditional write in each
 * adapter (one statement in SQLite, a condition expression in DynamoDB, If-Match on the ETag
 * in Table Storage), so of two approvals racing for one record exactly one decides it — and
 * only that one publishes.
 */
export interface ApprovalStore {
  /** Keep `record` (status pending) unless a record with its result id exists; true when stored now. */
  hold(record: ApprovalRecord): Promise<boolean>;
  get(resultId: string): Promise<ApprovalRecord | undefined>;
  /** Newest held first. */
  list(filter?: ApprovalFilter): Promise<ApprovalRecord[]>;
  /** Pending → approved or rejected, only if it is pending now. */
  decide(resultId: string, decision: ApprovalDecision): Promise<DecideOutcome>;
  /**
   * Approved → pending again, only if it still carries `decision` (the approval whose publish
   * failed): the result was not delivered, so the approval must be possible again.
   */
  reopen(resultId: string, decision: ApprovalDecision): Promise<void>;
}
