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

/** Routes whose failure retrying cannot fix: they go to the failure queue at once, with their reason. */
export function permanentFailures(outcome: EventOutcome): RouteOutcome[] {
  return outcome.routes.filter((r) => r.status === 'failed' && r.error !== undefined && !r.error.retryable);
}

/**
 * The error to throw for an event some route could not finish and may finish on a retry, or
 * undefined when every route emitted (or had already emitted) its result or failed for good.
 * A route whose claim is held by another invocation counts as unfinished: throwing lets
 * Lambda try again once that claim is completed or expires.
 */
export function failureOf(outcome: EventOutcome, options: { includePermanent?: boolean } = {}): LambdaFailure | undefined {
  const unfinished = outcome.routes.filter((r) => r.status === 'in-progress' || (r.status === 'failed' && (options.includePermanent || r.error?.retryable !== false)));
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

/** What the handler knows of its invocation, for the failure record. */
export interface InvocationInfo {
  requestId: string;
  functionArn: string;
  now: Date;
}

/**
 * A failure record in the shape Lambda's on-failure destination writes (version 1.0), with
 * condition `PermanentFailure`: the handler sends it itself for a failure retrying cannot fix,
 * so that Lambda does not run the route twice more. `requestPayload` is the invocation's input
 * unchanged (the rule's `{ meshRoute, event }`), so `mesh replay --source sqs:` replays it as is.
 */
export function permanentFailureRecord(input: unknown, route: RouteOutcome, eventId: string, info: InvocationInfo): string {
  const error = route.error!;
  return JSON.stringify({
    version: '1.0',
    timestamp: info.now.toISOString(),
    requestContext: { requestId: info.requestId, functionArn: info.functionArn, condition: 'PermanentFailure', approximateInvokeCount: 1 },
    requestPayload: input,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Handled' },
    responsePayload: { errorType: error.code, errorMessage: `[route ${route.routeId}] ${error.message} (event ${eventId})`, routeId: route.routeId, retryable: false },
  });
}
