import type { MeshConfig } from '../core/catalogue.ts';
import type { Envelope } from '../core/envelope.ts';
import { PolicyViolationError } from '../core/errors.ts';
import type { PlacementDecision, Placer } from '../core/ports/Placer.ts';
import type { Route } from '../core/route.ts';
import { describeLocation } from './explain.ts';
import { resolveDataLocation } from './location.ts';
import { screenEndpoints } from './rank.ts';
import { classify, describeRule } from './residency.ts';

/**
 * The placer of a deployment: for each route and event, where the data lives, which
 * classification it carries, which catalogue endpoints its residency rule allows, nearest first.
 *
 * @example
 * const placer = createPlacer(config);
 * const decision = placer.place(route, envelope);
 * decision.ranked[0]?.endpoint.id // → 'sim-bedrock-us-east-1'
 * @throws PolicyViolationError when no endpoint is allowed; `context.placement` holds the decision.
 */
export function createPlacer(config: MeshConfig): Placer {
  return {
    place(route: Route, envelope: Envelope): PlacementDecision {
      const { problem, ...location } = resolveDataLocation(route, envelope, config);
      const classification = classify(route, envelope, config);
      const policy = [
        `${classification.name}: ${describeRule(classification.rule)}`,
        ...(classification.note ? [` (${classification.note})`] : []),
        ...(problem ? [`; data location unknown: ${problem}`] : []),
      ].join('');
      const { ranked, rejected } = screenEndpoints(config.models, {
        allowlist: route.task.models,
        rule: classification.rule,
        ...(classification.note && !classification.rule ? { ruleProblem: classification.note } : {}),
        location,
        sites: config.sites,
      });
      const decision: PlacementDecision = { routeId: route.id, classification: classification.name, location, policy, ranked, rejected };
      if (ranked.length === 0) throw violation(decision, envelope.event.id);
      return decision;
    },
  };
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
