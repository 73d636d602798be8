import type { CounterPeriod } from './ports/Counters.ts';

/** A route as loaded and validated from `events/routes/<id>.yaml`. */
export interface Route {
  /** Unique, stable id: part of every result id, so renaming a route changes result ids. */
  id: string;
  /** The file it was loaded from (for errors and `mesh explain`). */
  file: string;
  description?: string;
  /** EventBridge event pattern, matched against the EventBridge view of the envelope. */
  match: Record<string, unknown>;
  data: RouteData;
  task: RouteTask;
  emit: RouteEmit;
  /**
   * `required`: the result is held, `<detailType>.PendingApproval` is published in its place,
   * and the result goes out only when someone approves it (`mesh approve`, an approval event).
   * Absent or `none`: published at once.
   */
  approval?: 'required' | 'none';
  /** Whether the pending-approval event carries the model's answer. Default false: metadata only. */
  approvalShowsOutput?: boolean;
}

export interface RouteData {
  /** Key into `mesh.yaml` `residency`, e.g. `public`, `internal`, `pii`. */
  classification: string;
  /** Where the data lives: fixed (`aws:eu-central-1`) or a template (`{{detail.region}}`). Authoritative unless `trustEventLocation`. */
  location?: string;
  /**
   * Whether an event's `datalocation` extension may say where its data lives, over `location`.
   * Unset: yes when the route declares no location, no when it does — otherwise a producer could
   * move its data, on paper, to reach a model the route's residency forbids. `false` without a
   * location ignores the event's claim too, leaving the origin to decide.
   */
  trustEventLocation?: boolean;
}

export interface RouteTask {
  /** System prompt (a template, like `prompt`). */
  system?: string;
  /** User prompt with `{{detail.path}}` slots; slot values are inserted JSON-encoded. */
  prompt: string;
  /** JSON Schema the model's answer must satisfy. */
  output: Record<string, unknown>;
  /** Compiled validator for `output`: problems as `path: message`, empty when valid. */
  validateOutput(value: unknown): string[];
  maxTokens: number;
  temperature?: number;
  /** Allowlist of catalogue model ids this route may use (default: all). */
  models?: string[];
  /** Total time budget for the model step, across retries and failover. */
  timeoutMs: number;
  /** Attempts per endpoint for retryable errors, before failing over to the next one. */
  attemptsPerEndpoint: number;
  /** What the route may spend per window, checked before each model call (absent: no budget). */
  budget?: RouteBudget;
}

/** A route's spending cap in one UTC window: tokens (input + output), cost in USD, or both. */
export interface RouteBudget {
  tokens?: number;
  costUsd?: number;
  per: CounterPeriod;
}

export interface RouteEmit {
  source: string;
  detailType: string;
  /** Names of `mesh.yaml` destinations. Empty: back to the bus the event came from. */
  to: string[];
}
