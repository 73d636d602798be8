import type { MeshConfig } from '../core/catalogue.ts';
import type { Envelope } from '../core/envelope.ts';
import { ModelUnavailableError, PolicyViolationError } from '../core/errors.ts';
import type { EndpointHealth, PlacementDecision, Placer, RankedEndpoint, SkippedEndpoint } from '../core/ports/Placer.ts';
import type { Route } from '../core/route.ts';
import { describeLocation } from './explain.ts';
import { resolveDataLocation } from './location.ts';
import { screenEndpoints } from './rank.ts';
import { classify, describeRule } from './residency.ts';

/** Every route's answer is checked against its JSON output schema, so every route needs this. */
const ROUTE_NEEDS = ['json'];

export interface PlacerOptions {
  /** Endpoint circuits: allowed endpoints whose circuit is open are skipped. */
  health?: EndpointHealth;
}

/**
 * The placer of a deployment: for each route and event, where the data lives, which
 * classification it carries, which catalogue endpoints its residency rule allows, ranked by
 * mesh.yaml's `placement.strategy` (data-gravity unless told), minus those whose circuit is open.
 *
 * @example
 * const placer = createPlacer(config, { health });
 * const decision = placer.place(route, envelope);
 * decision.ranked[0]?.endpoint.id // → 'sim-bedrock-us-east-1'
 * @throws PolicyViolationError when no endpoint is allowed; `context.placement` holds the decision.
 * @throws ModelUnavailableError (retryable) when endpoints are allowed but every one's circuit is open.
 */
export function createPlacer(config: MeshConfig, options: PlacerOptions = {}): Placer {
  const ranking = { strategy: config.placement?.strategy ?? 'data-gravity', crossCloudPenaltyKm: config.placement?.crossCloudPenaltyKm ?? 0 };
  return {
    place(route: Route, envelope: Envelope): PlacementDecision {
      const { problem, ignored, ...location } = resolveDataLocation(route, envelope, config);
      const classification = classify(route, envelope, config);
      // The policy line travels with the decision (provenance, failure record, logs): it says
      // which input set the location when an event claimed another one.
      const policy = [
        `${classification.name}: ${describeRule(classification.rule)}`,
        ...(classification.note ? [` (${classification.note})`] : []),
        ...(problem ? [`; data location unknown: ${problem}`] : []),
        ...(ignored ? [`; ignored ${ignored}`] : []),
      ].join('');
      const { ranked, rejected } = screenEndpoints(config.models, {
        allowlist: route.task.models,
        requires: ROUTE_NEEDS,
        rule: classification.rule,
        ...(classification.note && !classification.rule ? { ruleProblem: classification.note } : {}),
        location,
        sites: config.sites,
        ranking,
      });
      const decision: PlacementDecision = { routeId: route.id, classification: classification.name, location, policy, ranked, rejected };
      if (ranked.length === 0) throw violation(decision, envelope.event.id);
      if (!options.health) return decision;
      const { callable, skipped } = skipOpenCircuits(ranked, options.health);
      const withHealth: PlacementDecision = { ...decision, ranked: callable, skipped };
      if (callable.length === 0) throw allCircuitsOpen(withHealth, envelope.event.id);
      return withHealth;
    },
  };
}

function skipOpenCircuits(ranked: RankedEndpoint[], health: EndpointHealth): { callable: RankedEndpoint[]; skipped: SkippedEndpoint[] } {
  const callable: RankedEndpoint[] = [];
  const skipped: SkippedEndpoint[] = [];
  for (const r of ranked) {
    const until = health.openUntil(r.endpoint.id)?.toISOString();
    if (until === undefined) callable.push(r);
    else skipped.push({ endpointId: r.endpoint.id, reason: `circuit open until ${until}`, until });
  }
  return { callable, skipped };
}

/** Retryable, not a policy violation: the policy allows endpoints, they are just down for now. */
function allCircuitsOpen(decision: PlacementDecision, eventId: string): ModelUnavailableError {
  const which = (decision.skipped ?? []).map((s) => `${s.endpointId} until ${s.until}`).join('; ');
  return new ModelUnavailableError(
    `every endpoint allowed for route ${decision.routeId} is unavailable for event ${eventId}: circuit open (${which}); no model call is made`,
    { context: { routeId: decision.routeId, eventId, placement: decision } },
  );
}

function violation(decision: PlacementDecision, eventId: string): PolicyViolationError {
  const why = decision.rejected.length === 0 ? 'the catalogue has no endpoints' : groupByReason(decision.rejected);
  return new PolicyViolationError(
    `no model endpoint may serve route ${decision.routeId} for event ${eventId}: data at ${describeLocation(decision.location)}, policy ${decision.policy}; rejected ${why}`,
    { context: { routeId: decision.routeId, eventId, placement: decision } },
  );
}

/** `a, b: not in the route's allowlist; c: endpoint is on azure, data on aws` — one clause per distinct reason. */
function groupByReason(rejected: PlacementDecision['rejected']): string {
  const byReason = new Map<string, string[]>();
  for (const r of rejected) byReason.set(r.reason, [...(byReason.get(r.reason) ?? []), r.endpointId]);
  return [...byReason].map(([reason, ids]) => `${ids.join(', ')}: ${reason}`).join('; ');
}
