import type { ModelEndpoint, ResidencyRule, Site } from '../core/catalogue.ts';
import type { DataLocation, RankedEndpoint, RejectedEndpoint } from '../core/ports/Placer.ts';
import { findPlace } from './location.ts';
import { greatCircleKm } from './regions.ts';
import { allows, guaranteedGeography } from './residency.ts';

/*
 * Nearness tiers, best first. Cloud and geography come before raw distance because they are
 * what residency, egress cost and latency follow: a same-cloud endpoint 500 km away usually
 * beats another cloud's endpoint next door. A geography-scope endpoint (a cross-region
 * profile) is never tier 0: its home region is where it starts, not where it must run.
 *   0 same cloud and region   1 same cloud, same geography   2 other cloud, same geography
 *   3 same cloud, other geography   4 the rest, and everything when the data's location is unknown
 */

export interface Screened {
  ranked: RankedEndpoint[];
  rejected: RejectedEndpoint[];
}

/**
 * Keep the endpoints the route's allowlist and the residency rule allow, ranked best first;
 * say why each of the others was rejected.
 *
 * @example
 * screenEndpoints(config.models, { allowlist: route.task.models, rule, location, sites: config.sites })
 * // → { ranked: [{ endpoint, tier: 0, distanceKm: 0, reason: 'tier 0: same cloud and region (aws us-east-1), 0 km' }, …], rejected: […] }
 */
export function screenEndpoints(
  endpoints: readonly ModelEndpoint[],
  opts: { allowlist?: readonly string[] | undefined; rule: ResidencyRule | undefined; ruleProblem?: string; location: DataLocation; sites: Record<string, Site> },
): Screened {
  const rejected: RejectedEndpoint[] = [];
  const allowed: ModelEndpoint[] = [];
  const allowlist = opts.allowlist ? new Set(opts.allowlist) : undefined;
  for (const endpoint of endpoints) {
    if (allowlist && !allowlist.has(endpoint.id)) {
      rejected.push({ endpointId: endpoint.id, reason: "not in the route's allowlist" });
      continue;
    }
    if (!opts.rule) {
      rejected.push({ endpointId: endpoint.id, reason: opts.ruleProblem ?? 'no residency rule for this classification' });
      continue;
    }
    const verdict = allows(opts.rule, opts.location, endpoint, opts.sites);
    if (verdict.ok) allowed.push(endpoint);
    else rejected.push({ endpointId: endpoint.id, reason: verdict.reason });
  }
  return { ranked: rankEndpoints(allowed, opts.location, opts.sites), rejected };
}

/** Order endpoints by tier, then distance from the data (unknown last), then price, then id. */
export function rankEndpoints(endpoints: readonly ModelEndpoint[], location: DataLocation, sites: Record<string, Site> = {}): RankedEndpoint[] {
  return endpoints.map((e) => rankOne(e, location, sites)).sort(compareRanked);
}

function compareRanked(a: RankedEndpoint, b: RankedEndpoint): number {
  return (
    a.tier - b.tier ||
    (a.distanceKm ?? Infinity) - (b.distanceKm ?? Infinity) ||
    totalPrice(a.endpoint) - totalPrice(b.endpoint) ||
    (a.endpoint.id < b.endpoint.id ? -1 : a.endpoint.id > b.endpoint.id ? 1 : 0)
  );
}

function totalPrice(e: ModelEndpoint): number {
  return e.price.input + e.price.output;
}

function rankOne(endpoint: ModelEndpoint, location: DataLocation, sites: Record<string, Site>): RankedEndpoint {
  const where = endpointLabel(endpoint);
  if (location.cloud === 'unknown') {
    return { endpoint, tier: 4, distanceKm: null, reason: `tier 4: data location unknown (${where}), distance unknown` };
  }
  const distanceKm = distanceFrom(location, endpoint, sites);
  const sameCloud = endpoint.cloud === location.cloud;
  const guaranteed = guaranteedGeography(endpoint, sites);
  const geography = 'geography' in guaranteed ? guaranteed.geography : undefined;
  const sameGeography = geography !== undefined && geography === location.geography;

  let tier: number;
  let why: string;
  if (sameCloud && endpoint.scope === 'region' && endpoint.region === location.region) {
    tier = 0;
    why = 'same cloud and region';
  } else if (sameGeography) {
    tier = sameCloud ? 1 : 2;
    why = `${sameCloud ? 'same' : 'other'} cloud, same geography ${geography}`;
  } else {
    tier = sameCloud ? 3 : 4;
    why = `${sameCloud ? 'same' : 'other'} cloud, ${geography ? `other geography ${geography}` : 'no geography guaranteed'}`;
  }
  const km = distanceKm === null ? 'distance unknown' : `${Math.round(distanceKm)} km`;
  return { endpoint, tier, distanceKm, reason: `tier ${tier}: ${why} (${where}), ${km}` };
}

function endpointLabel(e: ModelEndpoint): string {
  if (e.scope === 'global') return `${e.cloud}, scope global`;
  const region = `${e.cloud} ${e.region ?? '(no region)'}`;
  return e.scope === 'geography' ? `${region}, scope geography` : region;
}

/** Kilometres from the data to where the endpoint runs (its home region for a geography scope); null when either is unknown. */
function distanceFrom(location: DataLocation, endpoint: ModelEndpoint, sites: Record<string, Site>): number | null {
  if (endpoint.scope === 'global') return null;
  const from = findPlace(location.cloud, location.region, sites);
  const to = findPlace(endpoint.cloud, endpoint.region, sites);
  return from && to ? Math.round(greatCircleKm(from, to) * 10) / 10 : null;
}
