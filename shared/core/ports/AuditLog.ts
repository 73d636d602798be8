import type { DataLocation } from './Placer.ts';

/**
 * The marker on every audit line an edge writes to its log, and the version of the entry's
 * shape. A query filters on it (`audit = "nearmesh.model-invocation.v1"`); a change that
 * renames or drops a field gets a new version, so saved queries never read a different shape.
 */
export const AUDIT_MARKER = 'nearmesh.model-invocation.v1';

/**
 * One model invocation attempt: who asked (route, event), who answered (endpoint, provider,
 * model, cloud, region), under which residency facts (data location and which input set it,
 * classification), what it cost, and how it ended. Never the event's content, the prompt or
 * the answer: an audit trail must be safe to keep longer and show wider than the data.
 */
export interface AuditEntry {
  /** When the call started (ISO 8601). */
  at: string;
  routeId: string;
  eventId: string;
  endpoint: string;
  provider: string;
  model: string;
  cloud: string;
  /** The endpoint's region; null for a global endpoint. */
  region: string | null;
  /** 1-based attempt on this endpoint. */
  attempt: number;
  /** Where the data lives: `aws:eu-west-1`, `onprem:fra-dc1`, or `unknown`. */
  dataLocation: string;
  /** Which input set it: the route, the event's `datalocation`, the origin, mesh.yaml sources, or nothing. */
  dataLocationSource: DataLocation['from'];
  classification: string;
  /** Tokens the endpoint reported; null when the call produced no answer. */
  tokens: { input: number; output: number } | null;
  /** From the tokens and the catalogue price; null with them. */
  costUsd: number | null;
  outcome: 'ok' | 'error';
  /** The mesh error code (`ModelThrottled`, `ModelOutputInvalid`, …); null when ok. */
  errorCode: string | null;
  latencyMs: number;
}

/** Where the invoke step records every model invocation attempt. One record per attempt, in order. */
export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
}

export interface AuditFilter {
  routeId?: string;
  /** Entries whose `at` is at or after this ISO instant. */
  since?: string;
  limit?: number;
}

/** The stores that keep the audit themselves (embedded, in-memory) also list it: newest first. */
export interface AuditTrail extends AuditLog {
  listAudit(filter?: AuditFilter): Promise<AuditEntry[]>;
}
