import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { decodeRuleDelivery } from '../../shared/buses/index.ts';
import { parseXrayTraceHeader } from '../../shared/core/index.ts';
import type { AwsMesh } from '../../shared/runtime/createAwsMesh.ts';
import { failureOf, permanentFailureRecord, permanentFailures, toLambdaFailure } from './failure.ts';
import { publishRouteMetrics } from './routeMetrics.ts';

export interface OnEventDeps {
  /** The mesh, built once per container (the promise is reused across invocations). */
  mesh: () => Promise<AwsMesh>;
  logger: Logger;
  metrics: Metrics;
  serviceName: string;
  /** The bus results go back to when a route names no destination. */
  eventBus: string;
  /** Milliseconds of the invocation kept back from the model step for publishing. */
  publishMarginMs: number;
  /**
   * The failure queue (Lambda's on-failure destination). A route that failed for good is
   * written there at once and the invocation succeeds, so Lambda does not retry it; without
   * it, such failures are thrown like the rest (and retried twice by Lambda).
   */
  failureQueue?: () => { send(body: string): Promise<unknown> };
  clock?: () => Date;
  /** The invocation's X-Ray trace header, for an event that carries no trace context. Default: `_X_AMZN_TRACE_ID`. */
  traceHeader?: () => string | undefined;
}

/** What the function returns (an on-success destination, or a test, can read it). */
export interface OnEventResult {
  eventId: string;
  /** `failed` with `error` only for a failure sent to the failure queue (retryable ones throw). */
  routes: { routeId: string; status: string; resultId?: string; endpoint?: string; destinations?: string[]; error?: string }[];
}

/**
 * The EventBridge → pipeline handler: decode the delivery (a rule's `{ meshRoute, event }`
 * runs that route only; a raw event runs every matching route), run it through the pipeline
 * within the invocation's remaining time, then:
 * - a failure retrying cannot fix (PolicyViolation, ModelRequestRejected, …) is written to the
 *   failure queue at once, with its reason, and not retried: no second or third model call;
 * - a retryable one is thrown, so Lambda retries it (twice) and then its on-failure
 *   destination keeps the event with the reason.
 * Wrapped in middy with the Powertools logger (correlation id = the event id) and metrics (EMF).
 *
 * @example
 * export const handler = createOnEventHandler({ mesh: () => meshOnce, logger, metrics, serviceName: 'nearmesh', eventBus: 'default', publishMarginMs: 3000 });
 */
export function createOnEventHandler(deps: OnEventDeps): MiddyfiedHandler<unknown, OnEventResult, Error, Context> {
  const onEvent = async (event: unknown, context: Context): Promise<OnEventResult> => {
    deps.metrics.addMetric('events', MetricUnit.Count, 1);
    try {
      const mesh = await deps.mesh();
      const { envelope, route } = decodeRuleDelivery(event, { bus: deps.eventBus });
      // Model calls stop in time to publish; each route has its own budget inside this one.
      const budget = Math.max(1, context.getRemainingTimeInMillis() - deps.publishMarginMs);
      const trace = parseXrayTraceHeader(deps.traceHeader ? deps.traceHeader() : process.env._X_AMZN_TRACE_ID);
      const outcome = await mesh.pipeline.process(envelope, { signal: AbortSignal.timeout(budget), ...(route === undefined ? {} : { route }), ...(trace ? { trace } : {}) });
      publishRouteMetrics(outcome, deps.serviceName);
      const queue = deps.failureQueue?.();
      if (queue) {
        for (const failed of permanentFailures(outcome)) {
          const info = { requestId: context.awsRequestId, functionArn: context.invokedFunctionArn, now: deps.clock?.() ?? new Date() };
          // A failed send throws: Lambda retries, and its own on-failure record keeps the event.
          await queue.send(permanentFailureRecord(event, failed, outcome.eventId, info));
          deps.logger.error('route failed for good; event sent to the failure queue, not retried', {
            routeId: failed.routeId,
            errorType: failed.error!.code,
            reason: failed.error!.message,
          });
        }
      }
      const failure = failureOf(outcome, { includePermanent: !queue });
      if (failure) throw failure;
      return {
        eventId: outcome.eventId,
        routes: outcome.routes.map((r) => ({
          routeId: r.routeId,
          status: r.status,
          ...(r.resultId ? { resultId: r.resultId } : {}),
          ...(r.endpoint ? { endpoint: r.endpoint } : {}),
          ...(r.destinations ? { destinations: r.destinations } : {}),
          ...(r.error ? { error: r.error.code } : {}),
        })),
      };
    } catch (err) {
      const failure = toLambdaFailure(err);
      deps.metrics.addMetric('failedEvents', MetricUnit.Count, 1);
      deps.logger.error('event not finished; Lambda retries it or sends it to the on-failure destination', {
        errorType: failure.name,
        retryable: failure.retryable,
        reason: failure.message,
      });
      throw failure;
    }
  };
  return middy<unknown, OnEventResult, Error, Context>(onEvent)
    .use(injectLambdaContext(deps.logger, { correlationIdPath: 'id', resetKeys: true }))
    .use(logMetrics(deps.metrics, { captureColdStartMetric: true }));
}
