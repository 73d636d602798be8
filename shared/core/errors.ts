/**
 * The mesh's one error tree. Every failure that can reach an operator is a `MeshError`:
 * it says whether retrying can help, and carries what an on-call engineer needs to act
 * (event id, route, endpoint). Adapters translate SDK errors into these classes.
 */

/** Context an on-call engineer needs to find the event and the thing that failed. */
export interface ErrorContext {
  eventId?: string;
  routeId?: string;
  endpoint?: string;
  file?: string;
  path?: string;
  [key: string]: unknown;
}

export interface MeshErrorOptions {
  cause?: unknown;
  context?: ErrorContext;
}

export abstract class MeshError extends Error {
  /**
   * The class's name, e.g. `ModelThrottledError`, written out: the Lambda bundle is minified,
   * and a name taken from the class at run time would be the minifier's.
   */
  abstract override readonly name: string;
  /** Stable machine-readable class, e.g. `ModelThrottled`. Stored in the failure ledger. */
  abstract readonly code: string;
  /** True when the same call may succeed later (throttling, timeouts, 5xx). */
  abstract readonly retryable: boolean;
  readonly context: ErrorContext;

  constructor(message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.context = options.context ?? {};
  }

  /** A plain object for logs, the ledger and `--json` output (never includes secrets). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      name: this.name,
      message: this.message,
      retryable: this.retryable,
      context: this.context,
    };
  }
}

/**
 * The idempotency claim this holder took is no longer its own: the lease expired and another
 * delivery took it over (or completed it). The holder must not publish or complete; the new
 * owner finishes the route. Retryable: a later delivery finds the route done.
 */
export class ClaimLostError extends MeshError {
  override readonly name = 'ClaimLostError';
  readonly code = 'ClaimLost';
  readonly retryable = true;
}

/**
 * The mesh's own store (claims, failure ledger) could not be reached while handling a route:
 * nothing is lost as long as the transport delivers the event again, so it is retryable.
 */
export class StoreUnavailableError extends MeshError {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'StoreUnavailable';
  readonly retryable = true;
}

/**
 * A delivery names a route this deployment does not load (the rules and the function were
 * deployed from different route files). Kept in the failure queue; replay once they agree.
 */
export class RouteNotLoadedError extends MeshError {
  override readonly name = 'RouteNotLoadedError';
  readonly code = 'RouteNotLoaded';
  readonly retryable = false;
}

/** The input is not an event we can read (bad JSON, missing required attribute, …). */
export class InvalidEventError extends MeshError {
  override readonly name = 'InvalidEventError';
  readonly code = 'InvalidEvent';
  readonly retryable = false;
}

/** A route's template names a field the event does not have, or similar per-event input gaps. */
export class TemplateError extends MeshError {
  override readonly name = 'TemplateError';
  readonly code = 'TemplateError';
  readonly retryable = false;
}

/** One problem found while validating configuration: which file, where in it, what was expected. */
export interface ConfigIssue {
  file: string;
  /** Dotted path inside the file, e.g. `task.maxTokens` or `models[2].scope`. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** `mesh.yaml` or a route file is invalid. Carries every issue found, not just the first. */
export class ConfigError extends MeshError {
  override readonly name = 'ConfigError';
  readonly code = 'ConfigError';
  readonly retryable = false;
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[], options: MeshErrorOptions = {}) {
    super(ConfigError.describe(issues), options);
    this.issues = issues;
  }

  static describe(issues: ConfigIssue[]): string {
    return issues.map(formatConfigIssue).join('\n');
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/** `file:line:col path: message` — the shape editors and terminals make clickable. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return `${where} ${issue.path || '(root)'}: ${issue.message}`;
}

/** An event pattern breaks the pattern language. `path` is the path inside the pattern. */
export class InvalidPatternError extends MeshError {
  override readonly name = 'InvalidPatternError';
  readonly code = 'InvalidPattern';
  readonly retryable = false;
  readonly path: string;

  constructor(message: string, path: string, options: MeshErrorOptions = {}) {
    super(path ? `${path}: ${message}` : message, options);
    this.path = path;
  }
}

/** No model endpoint is allowed for this data. No model call was made. */
export class PolicyViolationError extends MeshError {
  override readonly name = 'PolicyViolationError';
  readonly code = 'PolicyViolation';
  readonly retryable = false;
}

/** The endpoint is throttling. `retryAfterMs` is the server's hint when it gave one. */
export class ModelThrottledError extends MeshError {
  override readonly name = 'ModelThrottledError';
  readonly code = 'ModelThrottled';
  readonly retryable = true;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: MeshErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs };
  }
}

/** The call did not finish within its share of the invocation's time budget. */
export class ModelTimeoutError extends MeshError {
  override readonly name = 'ModelTimeoutError';
  readonly code = 'ModelTimeout';
  readonly retryable = true;
}

/** The endpoint failed on its side (5xx, not ready, connection refused). */
export class ModelUnavailableError extends MeshError {
  override readonly name = 'ModelUnavailableError';
  readonly code = 'ModelUnavailable';
  readonly retryable = true;
}

/** The endpoint rejected the request itself (400, validation, content filter): retrying the same request will not help. */
export class ModelRequestError extends MeshError {
  override readonly name = 'ModelRequestError';
  readonly code = 'ModelRequestRejected';
  readonly retryable = false;
}

/** The endpoint refused our identity (401/403, AccessDenied). */
export class ModelAuthError extends MeshError {
  override readonly name = 'ModelAuthError';
  readonly code = 'ModelAuth';
  readonly retryable = false;
}

/** The model answered, but not with JSON valid against the route's output schema. */
export class ModelOutputInvalidError extends MeshError {
  override readonly name = 'ModelOutputInvalidError';
  readonly code = 'ModelOutputInvalid';
  readonly retryable = true;
  readonly problems: string[];

  constructor(message: string, options: MeshErrorOptions & { problems?: string[] } = {}) {
    super(message, options);
    this.problems = options.problems ?? [];
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems };
  }
}

/** Every allowed endpoint was tried and none produced a valid answer. */
export class ModelsExhaustedError extends MeshError {
  override readonly name = 'ModelsExhaustedError';
  readonly code = 'ModelsExhausted';
  readonly retryable = true;
}

/**
 * The route's budget (`task.budget`) has no room for this call in the current window. No model
 * call was made; the event is kept and may be replayed once the window resets (`resetsAt`).
 */
export class BudgetExceededError extends MeshError {
  override readonly name = 'BudgetExceededError';
  readonly code = 'BudgetExceeded';
  readonly retryable = true;
}

/**
 * Every allowed endpoint is at its own rate limit (`models[].limits`) for now, so none was
 * called; the context names each with the time its window resets.
 */
export class RateLimitedError extends MeshError {
  override readonly name = 'RateLimitedError';
  readonly code = 'RateLimited';
  readonly retryable = true;
}

/** A result could not be published to one of its destinations. */
export class PublishFailedError extends MeshError {
  override readonly name = 'PublishFailedError';
  readonly code = 'PublishFailed';
  readonly retryable = true;
}

/** A destination refused a result for a reason retrying will not fix (unknown entity, no permission, no connection). */
export class PublishRejectedError extends MeshError {
  override readonly name = 'PublishRejectedError';
  readonly code = 'PublishRejected';
  readonly retryable = false;
}

/** A result or event is larger than its transport accepts. */
export class PayloadTooLargeError extends MeshError {
  override readonly name = 'PayloadTooLargeError';
  readonly code = 'PayloadTooLarge';
  readonly retryable = false;
}

/** Something failed that we did not classify. Treated as retryable once, then dead-lettered. */
export class InternalError extends MeshError {
  override readonly name = 'InternalError';
  readonly code = 'Internal';
  readonly retryable = false;
}

/** Wrap anything thrown into a MeshError, keeping the original as `cause`. */
export function toMeshError(err: unknown, context: ErrorContext = {}): MeshError {
  if (err instanceof MeshError) {
    Object.assign(err.context, Object.fromEntries(Object.entries(context).filter(([k]) => !(k in err.context))));
    return err;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(message, { cause: err, context });
}
