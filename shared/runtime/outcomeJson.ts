import { toStructured, type EventOutcome, type RouteOutcome } from '../core/index.ts';

/** The JSON shape of a pipeline outcome, for the admin API and `--json` output. */
export function outcomeToJson(outcome: EventOutcome): Record<string, unknown> {
  return {
    eventId: outcome.eventId,
    type: outcome.type,
    source: outcome.source,
    routes: outcome.routes.map(routeOutcomeToJson),
  };
}

function routeOutcomeToJson(r: RouteOutcome): Record<string, unknown> {
  return {
    routeId: r.routeId,
    status: r.status,
    ...(r.resultId ? { resultId: r.resultId } : {}),
    ...(r.result ? { result: toStructured(r.result.event) } : {}),
    ...(r.endpoint ? { endpoint: r.endpoint } : {}),
    ...(r.destinations ? { destinations: r.destinations } : {}),
    ...(r.placement ? { placement: r.placement } : {}),
    latencyMs: r.latencyMs,
    attempts: r.attempts,
    ...(r.error ? { error: r.error.toJSON() } : {}),
    ...(r.failureId ? { failureId: r.failureId } : {}),
  };
}
