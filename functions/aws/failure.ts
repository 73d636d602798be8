import { MeshError, type EventOutcome, type RouteOutcome } from '../../shared/core/index.ts';

/**
 * What the handler throws so that Lambda's on-failure destination keeps the event. Lambda
 * writes only `errorType` (the error's name) and `errorMessage` into the destination record,
 * so the name is the mesh error code (`ModelsExhausted`, `PolicyViolation`, …) and the
 * message starts with `[route <id>]` for each failed route: what `mesh failed` shows and
 * `mesh replay --source sqs:<url>` files the failure under.
 */
export class LambdaFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = code;
  }
}

/**
 * The error to throw for an event some route could not finish, or undefined when every
 * route emitted (or had already emitted) its result. A route whose claim is held by another
 * invocation counts as unfinished: throwing lets Lambda try again once that claim expires.
 */
export function failureOf(outcome: EventOutcome): LambdaFailure | undefined {
  const unfinished = outcome.routes.filter((r) => r.status === 'failed' || r.status === 'in-progress');
  if (unfinished.length === 0) return undefined;
  // A permanent failure names the error: it is the one an engineer must act on.
  const first = unfinished.find((r) => r.error && !r.error.retryable) ?? unfinished[0]!;
  const code = first.error?.code ?? 'InProgress';
  const message = unfinished.map((r) => `[route ${r.routeId}] ${describe(r)}`).join('; ') + ` (event ${outcome.eventId})`;
  return new LambdaFailure(code, message, unfinished.every((r) => r.status === 'in-progress' || r.error?.retryable === true), { cause: first.error });
}

/** Anything thrown before or around the pipeline (an unreadable event, config, the idempotency table), as a LambdaFailure. */
export function toLambdaFailure(err: unknown): LambdaFailure {
  if (err instanceof LambdaFailure) return err;
  if (err instanceof MeshError) {
    const where = typeof err.context.routeId === 'string' ? `[route ${err.context.routeId}] ` : '';
    return new LambdaFailure(err.code, `${where}${err.message}`, err.retryable, { cause: err });
  }
  return new LambdaFailure('Internal', err instanceof Error ? err.message : String(err), false, { cause: err });
}

function describe(r: RouteOutcome): string {
  if (r.status === 'in-progress') return 'InProgress: another invocation holds the claim on this route and event';
  return `${r.error?.code ?? 'Internal'}: ${r.error?.message ?? 'failed'}`;
}
