import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { decodeEventBridgeEvent } from '../../shared/buses/index.ts';
import type { AwsMesh } from '../../shared/runtime/createAwsMesh.ts';
import { failureOf, toLambdaFailure } from './failure.ts';
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
}

/** What the function returns (an on-success destination, or a test, can read it). */
export interface OnEventResult {
  eventId: string;
  routes: { routeId: string; status: string; resultId?: string; endpoint?: string; destinations?: string[] }[];
}

/**
 * The EventBridge → pipeline handler: decode the event, run it through the pipeline within
 * the invocation's remaining time, and throw when a route could not finish so Lambda's
 * on-failure destination keeps the event with the reason. Wrapped in middy with the
 * Powertools logger (correlation id = the event id) and metrics (EMF).
 *
 * @example
 * export const handler = createOnEventHandler({ mesh: () => meshOnce, logger, metrics, serviceName: 'nearmesh', eventBus: 'default', publishMarginMs: 3000 });
 */
export function createOnEventHandler(deps: OnEventDeps): MiddyfiedHandler<unknown, OnEventResult, Error, Context> {
  const onEvent = async (event: unknown, context: Context): Promise<OnEventResult> => {
    deps.metrics.addMetric('events', MetricUnit.Count, 1);
    try {
      const mesh = await deps.mesh();
      const envelope = decodeEventBridgeEvent(event, { bus: deps.eventBus });
      // Model calls stop in time to publish; each route has its own budget inside this one.
      const budget = Math.max(1, context.getRemainingTimeInMillis() - deps.publishMarginMs);
      const outcome = await mesh.pipeline.process(envelope, { signal: AbortSignal.timeout(budget) });
      publishRouteMetrics(outcome, deps.serviceName);
      const failure = failureOf(outcome);
      if (failure) throw failure;
      return {
        eventId: outcome.eventId,
        routes: outcome.routes.map((r) => ({
          routeId: r.routeId,
          status: r.status,
          ...(r.resultId ? { resultId: r.resultId } : {}),
          ...(r.endpoint ? { endpoint: r.endpoint } : {}),
          ...(r.destinations ? { destinations: r.destinations } : {}),
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
