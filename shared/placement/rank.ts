import type { ModelEndpoint, PlacementStrategy, ResidencyRule, Site } from '../core/catalogue.ts';
import type { DataLocation, RankedEndpoint, RejectedEndpoint } from '../core/ports/Placer.ts';
import { findPlace } from './location.ts';
import { greatCircleKm } from './regions.ts';
import { allows, guaranteedGeography } from './residency.ts';

/*
 * Nearness tiers, best first. Cloud and geography come before raw distance because they are
 * what residency, egress cost and latency follow: a same-cloud endpoint 500 km away usually
 * beats another cloud's endpoint next door. A geography-scope endpoint (a cross-region
 * profile) is never tier 0: its home region is where it starts, not where it must run. A
 * global endpoint is always tier 4, even on the data's own cloud: it may be served anywhere,
 * so nothing about it is near.
 *   0 same cloud and region   1 same cloud, same geography   2 other cloud, same geography
 *   3 same cloud, other geography   4 the rest: global endpoints, and everything when the data's location is unknown
 *
 * The `nearest` strategy ignores tiers and orders by distance alone, plus an optional penalty
 * for crossing to another cloud (egress and a second identity to manage); tiers are still
 * computed and shown. Either way an unknown distance (a global endpoint, an unknown location)
 * counts as farthest, and price then id break ties, so the order never depends on the
 * catalogue's order.
 */

/** How to order the allowed endpoints; mesh.yaml `placement`. */
export interface RankingOptions {
  strategy?: PlacementStrategy;
  /** `nearest` only: km added to endpoints on another cloud than the data's. */
  crossCloudPenaltyKm?: number;
}

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
  opts: {
    allowlist?: readonly string[] | undefined;
    /** Capabilities the route needs, e.g. `json` for an answer checked against a schema. */
    requires?: readonly string[];
    rule: ResidencyRule | undefined;
    ruleProblem?: string;
    location: DataLocation;
    sites: Record<string, Site>;
    ranking?: RankingOptions;
  },
): Screened {
  const rejected: RejectedEndpoint[] = [];
  const allowed: ModelEndpoint[] = [];
  const allowlist = opts.allowlist ? new Set(opts.allowlist) : undefined;
  for (const endpoint of endpoints) {
    if (allowlist && !allowlist.has(endpoint.id)) {
      rejected.push({ endpointId: endpoint.id, reason: "not in the route's allowlist" });
      continue;
    }
    const missing = (opts.requires ?? []).filter((c) => !endpoint.capabilities.includes(c));
    if (missing.length > 0) {
      rejected.push({ endpointId: endpoint.id, reason: `lacks capability ${missing.join(', ')}, which the route needs` });
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
  return { ranked: rankEndpoints(allowed, opts.location, opts.sites, opts.ranking), rejected };
}

/**
 * Order endpoints best first. `data-gravity` (default): tier, then distance from the data,
 * then price, then id. `nearest`: distance plus the cross-cloud penalty, then price, then id.
 *
 * @example
 * rankEndpoints(catalogue, { cloud: 'aws', region: 'us-east-1', geography: 'us', from: 'origin' }, {}, { strategy: 'nearest', crossCloudPenaltyKm: 500 })
 */
export function rankEndpoints(
  endpoints: readonly ModelEndpoint[],
  location: DataLocation,
  sites: Record<string, Site> = {},
  ranking: RankingOptions = {},
): RankedEndpoint[] {
  const penaltyKm = ranking.strategy === 'nearest' ? (ranking.crossCloudPenaltyKm ?? 0) : 0;
  const scored = endpoints.map((e) => {
    const ranked = rankOne(e, location, sites);
    const penalty = penaltyKm > 0 && location.cloud !== 'unknown' && e.cloud !== location.cloud ? penaltyKm : 0;
    if (penalty > 0 && ranked.distanceKm !== null) ranked.reason += ` + ${penaltyKm} km cross-cloud penalty`;
    return { ranked, effectiveKm: ranked.distanceKm === null ? Infinity : ranked.distanceKm + penalty };
  });
  const byTier = ranking.strategy !== 'nearest';
  scored.sort((a, b) => (byTier ? a.ranked.tier - b.ranked.tier : 0) || compareKm(a.effectiveKm, b.effectiveKm) || compareRest(a.ranked, b.ranked));
  return scored.map((s) => s.ranked);
}

/** Infinity - Infinity is NaN, which a comparator must never return. */
function compareKm(a: number, b: number): number {
  return a === b ? 0 : a - b;
}

function compareRest(a: RankedEndpoint, b: RankedEndpoint): number {
  return totalPrice(a.endpoint) - totalPrice(b.endpoint) || (a.endpoint.id < b.endpoint.id ? -1 : a.endpoint.id > b.endpoint.id ? 1 : 0);
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
  if (endpoint.scope === 'global') {
    tier = 4;
    why = 'scope global may be served anywhere';
  } else if (sameCloud && endpoint.scope === 'region' && endpoint.region === location.region) {
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
