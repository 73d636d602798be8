import type { MeshConfig, Site } from '../core/catalogue.ts';
import type { Envelope } from '../core/envelope.ts';
import { toEventBridgeEvent } from '../core/eventbridge.ts';
import type { DataLocation } from '../core/ports/Placer.ts';
import type { Route } from '../core/route.ts';
import { lookupPath } from '../core/template.ts';
import { lookupRegion, type Coordinates } from './regions.ts';

/**
 * A data location plus, when it is unknown because an input could not be read, why. The
 * problem is shown in the decision's policy line so an operator sees it; it is not an error,
 * because unknown location is a state the residency rules already handle (only `anywhere` passes).
 */
export interface ResolvedLocation extends DataLocation {
  problem?: string;
  /** The event's `datalocation` claim, when the route did not let it decide, and why. */
  ignored?: string;
}

/** A cloud region or an on-prem site: what we know of a place. */
export interface Place extends Coordinates {
  /** The region's canonical name (`westeurope` for `West Europe`), or the site's name. */
  region: string;
  geography: string;
  /** A provider's cross-region zone wider than `geography` (see regions.ts). */
  zone?: string;
}

/** Where a `cloud` + `region` pair is: the region table for aws/azure, `config.sites` for onprem. */
export function findPlace(cloud: string, region: string | undefined, sites: Record<string, Site>): Place | undefined {
  if (region === undefined) return undefined;
  if (cloud === 'onprem') {
    const site = Object.hasOwn(sites, region) ? sites[region] : undefined;
    return site && { region, lat: site.lat, lon: site.lon, geography: site.geography };
  }
  const info = lookupRegion(cloud, region);
  return info && { region: info.name, lat: info.lat, lon: info.lon, geography: info.geography, ...(info.zone === undefined ? {} : { zone: info.zone }) };
}

const SLOT = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Where the event's data lives, from the first input the route lets decide:
 *   1. the route's `data.location`, fixed or a template over the EventBridge view (`aws:{{region}}`):
 *      authoritative when the route sets it, unless the route sets `data.trustEventLocation: true`;
 *   2. the event's CloudEvents extension `datalocation` (`aws:eu-central-1`, `azure:westeurope`,
 *      `onprem:fra-dc1`) — first when the route trusts it, and when the route declares no
 *      location (unless it sets `trustEventLocation: false`);
 *   3. the origin's cloud and region, or for a Service Bus message its namespace in `config.sources`;
 *   4. otherwise unknown.
 * The route decides because it is the one residency answers to: a producer claiming another
 * location could otherwise move its data, on paper, to reach a model the route forbids. An
 * event's claim the route did not let decide is named in `ignored`, so the decision says why.
 * An input that is present but unreadable (malformed value, unknown region, missing template
 * field) makes the location unknown rather than falling through: the next input would be a guess.
 *
 * @example
 * resolveDataLocation(routeWith({ location: 'aws:eu-west-1' }), envelopeWith({ datalocation: 'azure:westeurope' }), config)
 * // → { cloud: 'aws', region: 'eu-west-1', geography: 'eu', from: 'route',
 * //     ignored: 'the event\'s datalocation "azure:westeurope" (route data.location is authoritative; data.trustEventLocation is not set)' }
 */
export function resolveDataLocation(route: Route, envelope: Envelope, config: MeshConfig): ResolvedLocation {
  const ext = envelope.event.extensions.datalocation;
  const claim = ext === undefined ? undefined : String(ext);
  const fromRoute = route.data.location !== undefined && route.data.location.trim() !== '' ? route.data.location : undefined;
  const trustEvent = route.data.trustEventLocation ?? fromRoute === undefined;

  if (claim !== undefined && trustEvent) return parseLocation(claim, 'event', config, `the event's datalocation "${claim}"`);
  const ignored = claim === undefined ? undefined : ignoredClaim(claim, fromRoute, route.data.trustEventLocation);
  const withIgnored = (location: ResolvedLocation): ResolvedLocation => (ignored === undefined ? location : { ...location, ignored });

  if (fromRoute !== undefined) {
    const rendered = renderLocation(fromRoute, envelope);
    if ('missing' in rendered) {
      return withIgnored(unknown('route', `route data.location "${fromRoute}" needs ${rendered.missing}, which event ${envelope.event.id} does not have`));
    }
    return withIgnored(parseLocation(rendered.text, 'route', config, `route data.location "${fromRoute}" (= "${rendered.text}")`));
  }

  return withIgnored(fromOrigin(envelope, config));
}

/** Why the event's `datalocation` did not decide, in the words of the route file. */
function ignoredClaim(claim: string, fromRoute: string | undefined, trust: boolean | undefined): string {
  const why =
    fromRoute !== undefined
      ? `route data.location is authoritative; ${trust === false ? 'data.trustEventLocation is false' : 'data.trustEventLocation is not set'}`
      : 'the route sets data.trustEventLocation: false';
  return `the event's datalocation "${claim}" (${why})`;
}

function fromOrigin(envelope: Envelope, config: MeshConfig): ResolvedLocation {
  const { origin } = envelope;
  if (origin.cloud !== undefined && origin.cloud !== 'local' && origin.region) {
    return located(origin.cloud, origin.region, 'origin', config, `the origin ${origin.cloud}:${origin.region}`);
  }
  for (const name of sourceNames(origin.namespace, origin.bus)) {
    const source = Object.hasOwn(config.sources, name) ? config.sources[name] : undefined;
    if (source) return located(source.cloud, source.region, 'source', config, `source ${name} (${source.cloud}:${source.region})`);
  }
  return { cloud: 'unknown', from: 'unknown' };
}

/** A namespace may arrive as `acme-support` or `acme-support.servicebus.windows.net`. */
function sourceNames(namespace: string | undefined, bus: string | undefined): string[] {
  const names: string[] = [];
  if (namespace) names.push(namespace, namespace.split('.')[0] ?? namespace);
  if (bus) names.push(bus);
  return [...new Set(names)];
}

function parseLocation(text: string, from: DataLocation['from'], config: MeshConfig, what: string): ResolvedLocation {
  const value = text.trim();
  const colon = value.indexOf(':');
  if (colon <= 0) return unknown(from, `${what} is not <cloud>:<region> (e.g. aws:eu-central-1)`);
  const cloud = value.slice(0, colon).toLowerCase();
  const region = value.slice(colon + 1).trim();
  if (cloud !== 'aws' && cloud !== 'azure' && cloud !== 'onprem') {
    return unknown(from, `${what} names cloud "${cloud}"; expected aws, azure or onprem`);
  }
  return located(cloud, region, from, config, what);
}

function located(cloud: string, region: string, from: DataLocation['from'], config: MeshConfig, what: string): ResolvedLocation {
  const place = findPlace(cloud, region, config.sites);
  if (!place) {
    const known = cloud === 'onprem' ? `no site "${region}" in mesh.yaml sites` : `no ${cloud} region "${region}" in the region table`;
    return unknown(from, `${what}: ${known}`);
  }
  return { cloud, region: place.region, geography: place.geography, from };
}

function unknown(from: DataLocation['from'], problem: string): ResolvedLocation {
  return { cloud: 'unknown', from, problem };
}

/** Slots take the value as plain text (not JSON as in prompts): a location is an identifier, not prose. */
function renderLocation(template: string, envelope: Envelope): { text: string } | { missing: string } {
  if (!template.includes('{{')) return { text: template };
  const view = toEventBridgeEvent(envelope);
  let missing: string | undefined;
  const text = template.replace(SLOT, (_whole, path: string) => {
    const value = lookupPath(view, path);
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number') return String(value);
    missing ??= path;
    return '';
  });
  return missing === undefined ? { text } : { missing };
}
