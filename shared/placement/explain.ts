import type { DataLocation, PlacementDecision } from '../core/ports/Placer.ts';
import type { Route } from '../core/route.ts';

/**
 * `aws:eu-west-1 (from route)`, `onprem:fra-dc1 (from event)`, `aws:us-east-1 (from origin)`,
 * `azure:westeurope (from mesh.yaml sources)`, `unknown (from unknown)`: where, and which input won.
 */
export function describeLocation(location: DataLocation): string {
  const where = location.cloud === 'unknown' ? 'unknown' : `${location.cloud}:${location.region ?? '?'}`;
  return `${where} (from ${location.from === 'source' ? 'mesh.yaml sources' : location.from})`;
}

function km(distanceKm: number | null): string {
  return distanceKm === null ? 'distance unknown' : `${Math.round(distanceKm)} km`;
}

/**
 * A placement decision as lines of text, for `mesh explain` and logs.
 *
 * @example
 * formatPlacement(decision, route)
 * // route order-risk · classification internal (from route)
 * //   data     aws:us-east-1 (from origin), geography us
 * //   policy   internal: same-geography
 * //   allowed  1. sim-bedrock-us-east-1 — tier 0: same cloud and region (aws us-east-1), 0 km
 * //   rejected sim-azure-westeurope — data is in geography us; endpoint stays in eu
 * //   chosen   sim-bedrock-us-east-1
 */
export function formatPlacement(decision: PlacementDecision, route?: Route): string {
  const { location } = decision;
  const lines = [
    `route ${decision.routeId} · classification ${decision.classification}${route ? ` (${classificationSource(decision, route)})` : ''}`,
    `  data     ${describeLocation(location)}${location.geography ? `, geography ${location.geography}` : ''}`,
    `  policy   ${decision.policy}`,
  ];
  if (decision.ranked.length === 0 && (decision.skipped ?? []).length === 0) lines.push('  allowed  none — no model call is made');
  decision.ranked.forEach((r, i) => lines.push(`  allowed  ${i + 1}. ${r.endpoint.id} — ${r.reason}`));
  for (const r of decision.skipped ?? []) lines.push(`  skipped  ${r.endpointId} — ${r.reason}`);
  for (const r of decision.rejected) lines.push(`  rejected ${r.endpointId} — ${r.reason}`);
  lines.push(`  chosen   ${decision.ranked[0]?.endpoint.id ?? 'none'}`);
  return lines.join('\n');
}

/** `from route`, or `from the event's dataclassification` when the event raised it (or named one mesh.yaml lacks). */
export function classificationSource(decision: PlacementDecision, route: Route): string {
  return decision.classification === route.data.classification ? 'from route' : "from the event's dataclassification";
}

/**
 * A placement decision in one line: where the data is, the rule, the choice.
 *
 * @example
 * summarizePlacement(decision)
 * // → 'data aws:us-east-1 (from origin) · internal: same-geography → sim-bedrock-us-east-1 (tier 0, 0 km)'
 */
export function summarizePlacement(decision: PlacementDecision): string {
  const first = decision.ranked[0];
  const choice = first ? `${first.endpoint.id} (tier ${first.tier}, ${km(first.distanceKm)})` : 'no endpoint allowed';
  const skipped = (decision.skipped ?? []).map((s) => s.endpointId);
  const note = skipped.length > 0 ? ` (circuit open: ${skipped.join(', ')})` : '';
  return `data ${describeLocation(decision.location)} · ${decision.policy} → ${choice}${note}`;
}
