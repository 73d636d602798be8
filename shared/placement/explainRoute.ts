import type { Envelope } from '../core/envelope.ts';
import { MeshError } from '../core/errors.ts';
import type { DataLocation, PlacementDecision, Placer } from '../core/ports/Placer.ts';
import type { Route } from '../core/route.ts';

/** One route's placement for one event, whether or not an endpoint may serve it. */
export interface RouteExplanation {
  route: Route;
  decision: PlacementDecision;
  /** Why no endpoint will be called (policy violation, every circuit open); undefined when one is chosen. */
  error?: MeshError;
}

/** The `mesh explain --json` shape of one route, as the placement issue specifies it. */
export interface RouteExplanationJson {
  route: string;
  dataLocation: string;
  /** Which input decided where the data lives: `route`, `event`, `origin`, `source` (mesh.yaml sources) or `unknown`. */
  dataLocationSource: DataLocation['from'];
  classification: string;
  placement: {
    chosen: string | null;
    ranked: Array<{ endpoint: string; tier: number; distanceKm: number | null }>;
    rejected: Array<{ endpoint: string; reason: string }>;
    error: string | null;
  };
}

/**
 * Place one route's event and keep the decision even when placement refuses: a policy
 * violation carries its decision, and that is what an operator asking "why" needs to see.
 * Makes no model call.
 *
 * @example
 * const e = explainRoute(createPlacer(config), route, envelope);
 * e.error?.code // → 'PolicyViolation' when nothing is allowed
 */
export function explainRoute(placer: Placer, route: Route, envelope: Envelope): RouteExplanation {
  try {
    return { route, decision: placer.place(route, envelope) };
  } catch (err) {
    const decision = err instanceof MeshError ? (err.context.placement as PlacementDecision | undefined) : undefined;
    if (!decision) throw err;
    return { route, decision, error: err as MeshError };
  }
}

/**
 * An explanation as `mesh explain --json` prints it. Endpoints skipped for an open circuit
 * are listed with the rejected ones, their reason saying so; distances are rounded to km.
 *
 * @example
 * explanationToJson(e)
 * // → { route: 'order-risk', dataLocation: 'aws:us-east-1', dataLocationSource: 'origin', classification: 'internal',
 * //     placement: { chosen: 'sim-bedrock-us-east-1', ranked: [{ endpoint: 'sim-bedrock-us-east-1', tier: 0, distanceKm: 0 }, …], rejected: […], error: null } }
 */
export function explanationToJson(e: RouteExplanation): RouteExplanationJson {
  const { decision } = e;
  const where = decision.location.cloud === 'unknown' ? 'unknown' : `${decision.location.cloud}:${decision.location.region ?? '?'}`;
  return {
    route: e.route.id,
    dataLocation: where,
    dataLocationSource: decision.location.from,
    classification: decision.classification,
    placement: {
      chosen: e.error ? null : (decision.ranked[0]?.endpoint.id ?? null),
      ranked: decision.ranked.map((r) => ({ endpoint: r.endpoint.id, tier: r.tier, distanceKm: r.distanceKm === null ? null : Math.round(r.distanceKm) })),
      rejected: [
        ...decision.rejected.map((r) => ({ endpoint: r.endpointId, reason: r.reason })),
        ...(decision.skipped ?? []).map((s) => ({ endpoint: s.endpointId, reason: s.reason })),
      ],
      error: e.error ? e.error.message : null,
    },
  };
}
