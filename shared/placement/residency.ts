import type { MeshConfig, ModelEndpoint, ResidencyRule, Site } from '../core/catalogue.ts';
import type { Envelope } from '../core/envelope.ts';
import type { DataLocation } from '../core/ports/Placer.ts';
import type { Route } from '../core/route.ts';
import { findPlace } from './location.ts';

/*
 * Residency: which classification an event's data carries, and whether an endpoint may see it.
 *
 * Classifications are ranked by the order of their keys in mesh.yaml `residency`, least
 * restrictive first (public, internal, confidential, pii). mesh.yaml documents that order, and
 * it lets an event raise its own classification (`dataclassification: pii` on an event of an
 * `internal` route) without the mesh having to judge which of two rules is stricter.
 */

export type Allowed = { ok: true } | { ok: false; reason: string };

export interface Classification {
  /** The classification applied. */
  name: string;
  /** Its rule; undefined when mesh.yaml has none for it (then nothing is allowed). */
  rule: ResidencyRule | undefined;
  /** Why it differs from the route's, in words; absent when the route's applies unchanged. */
  note?: string;
}

/**
 * The classification of an event's data: the route's, raised (never lowered) by the event's
 * `dataclassification` extension when that names a classification ranked higher.
 *
 * @example
 * classify(internalRoute, envelopeWith({ dataclassification: 'pii' }), config).name // → 'pii'
 */
export function classify(route: Route, envelope: Envelope, config: MeshConfig): Classification {
  const ranking = Object.keys(config.residency);
  const base = route.data.classification;
  const ext = envelope.event.extensions.dataclassification;
  const rank = (name: string) => ranking.indexOf(name);
  if (typeof ext === 'string' && ext !== base) {
    if (rank(ext) === -1) {
      // An event claiming a classification we cannot rank may be stricter than anything we know: fail closed.
      return { name: ext, rule: undefined, note: `the event's dataclassification "${ext}" is not in mesh.yaml residency` };
    }
    if (rank(ext) > rank(base)) {
      return { name: ext, rule: config.residency[ext], note: `raised from ${base} by the event's dataclassification` };
    }
  }
  const rule = Object.hasOwn(config.residency, base) ? config.residency[base] : undefined;
  return rule ? { name: base, rule } : { name: base, rule: undefined, note: `classification "${base}" is not in mesh.yaml residency` };
}

/**
 * A rule in the words mesh.yaml uses: `anywhere`, `same-region`, `same-geography`,
 * `same-cloud`, or a combination such as `same-cloud, same-geography`.
 */
export function describeRule(rule: ResidencyRule | undefined): string {
  if (!rule) return 'no rule (nothing allowed)';
  if (rule.region === 'same') return 'same-region';
  const parts = [rule.cloud === 'same' ? 'same-cloud' : '', rule.geography === 'same' ? 'same-geography' : ''].filter(Boolean);
  return parts.length === 0 ? 'anywhere' : parts.join(', ');
}

/** The geography an endpoint guarantees its calls stay in, or why it guarantees none. */
export function guaranteedGeography(endpoint: ModelEndpoint, sites: Record<string, Site> = {}): { geography: string } | { reason: string } {
  if (endpoint.scope === 'global') return { reason: 'scope global may be served anywhere, so it guarantees no geography' };
  const place = findPlace(endpoint.cloud, endpoint.region, sites);
  if (!place) return { reason: `its region ${endpoint.cloud} ${endpoint.region ?? '(none)'} is not in the region table, so its geography is unknown` };
  // A cross-region profile homed where the provider's zone is wider than the geography (an apac
  // profile homed in Tokyo) may run anywhere in that zone, across several geographies.
  if (endpoint.scope === 'geography' && place.zone !== undefined && place.zone !== place.geography) {
    return { reason: `scope geography homed in ${endpoint.region} may be served anywhere in zone ${place.zone}, beyond geography ${place.geography}` };
  }
  return { geography: place.geography };
}

/**
 * Whether a rule lets data at `data` reach `endpoint`, and if not, why in words.
 *
 * @example
 * allows({ cloud: 'any', geography: 'same', region: 'any' }, { cloud: 'aws', region: 'us-east-1', geography: 'us', from: 'origin' }, euEndpoint)
 * // → { ok: false, reason: 'data is in geography us; endpoint stays in eu' }
 */
export function allows(rule: ResidencyRule, data: DataLocation, endpoint: ModelEndpoint, sites: Record<string, Site> = {}): Allowed {
  const anywhere = rule.cloud === 'any' && rule.geography === 'any' && rule.region === 'any';
  if (anywhere) return { ok: true };
  if (data.cloud === 'unknown') return { ok: false, reason: `data location is unknown and the rule requires ${describeRule(rule)}` };

  if ((rule.cloud === 'same' || rule.region === 'same') && endpoint.cloud !== data.cloud) {
    return { ok: false, reason: `endpoint is on ${endpoint.cloud}, data on ${data.cloud}` };
  }
  if (rule.region === 'same') {
    if (endpoint.region !== data.region) return { ok: false, reason: `endpoint is in ${endpoint.region ?? 'no fixed region'}, data in ${data.region ?? 'an unknown region'}` };
    if (endpoint.scope !== 'region') return { ok: false, reason: `scope ${endpoint.scope} may be served outside ${endpoint.region}` };
  }
  if (rule.geography === 'same') {
    if (data.geography === undefined) return { ok: false, reason: 'data geography is unknown' };
    const guaranteed = guaranteedGeography(endpoint, sites);
    if ('reason' in guaranteed) return { ok: false, reason: guaranteed.reason };
    if (guaranteed.geography !== data.geography) {
      return { ok: false, reason: `data is in geography ${data.geography}; endpoint stays in ${guaranteed.geography}` };
    }
  }
  return { ok: true };
}
