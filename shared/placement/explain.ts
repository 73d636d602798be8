import type { DataLocation, PlacementDecision } from '../core/ports/Placer.ts';

/** `aws:us-east-1 (from origin)`, `onprem:fra-dc1 (from event)`, `unknown (from unknown)`. */
export function describeLocation(location: DataLocation): string {
  const where = location.cloud === 'unknown' ? 'unknown' : `${location.cloud}:${location.region ?? '?'}`;
  return `${where} (from ${location.from})`;
}

function km(distanceKm: number | null): string {
  return distanceKm === null ? 'distance unknown' : `${Math.round(distanceKm)} km`;
}

/**
 * A placement decision as lines of text, for `mesh explain` and logs.
 *
 * @example
 * formatPlacement(decision)
 * // route order-risk · classification internal
 * //   data     aws:us-east-1 (from origin), geography us
 * //   policy   internal: same-geography
 * //   allowed  1. sim-bedrock-us-east-1 — tier 0: same cloud and region (aws us-east-1), 0 km
 * //   rejected sim-azure-westeurope — data is in geography us; endpoint stays in eu
 */
export function formatPlacement(decision: PlacementDecision): string {
  const { location } = decision;
  const lines = [
    `route ${decision.routeId} · classification ${decision.classification}`,
    `  data     ${describeLocation(location)}${location.geography ? `, geography ${location.geography}` : ''}`,
    `  policy   ${decision.policy}`,
  ];
  if (decision.ranked.length === 0) lines.push('  allowed  none — no model call is made');
  decision.ranked.forEach((r, i) => lines.push(`  allowed  ${i + 1}. ${r.endpoint.id} — ${r.reason}`));
  for (const r of decision.rejected) lines.push(`  rejected ${r.endpointId} — ${r.reason}`);
  return lines.join('\n');
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
  return `data ${describeLocation(decision.location)} · ${decision.policy} → ${choice}`;
}
