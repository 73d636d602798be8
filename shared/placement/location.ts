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
 * Where the event's data lives, from the most specific input that says so:
 *   1. the event's CloudEvents extension `datalocation` (`aws:eu-central-1`, `azure:westeurope`, `onprem:fra-dc1`);
 *   2. the route's `data.location`, fixed or a template over the EventBridge view (`aws:{{region}}`);
 *   3. the origin's cloud and region, or for a Service Bus message its namespace in `config.sources`;
 *   4. otherwise unknown.
 * An input that is present but unreadable (malformed value, unknown region, missing template
 * field) makes the location unknown rather than falling through: the next input would be a guess.
 *
 * @example
 * resolveDataLocation(route, envelopeWith({ datalocation: 'azure:westeurope' }), config)
 * // → { cloud: 'azure', region: 'westeurope', geography: 'eu', from: 'event' }
 */
export function resolveDataLocation(route: Route, envelope: Envelope, config: MeshConfig): ResolvedLocation {
  const ext = envelope.event.extensions.datalocation;
  if (ext !== undefined) return parseLocation(String(ext), 'event', config, `the event's datalocation "${String(ext)}"`);

  const fromRoute = route.data.location;
  if (fromRoute !== undefined && fromRoute.trim() !== '') {
    const rendered = renderLocation(fromRoute, envelope);
    if ('missing' in rendered) {
      return unknown('route', `route data.location "${fromRoute}" needs ${rendered.missing}, which event ${envelope.event.id} does not have`);
    }
    return parseLocation(rendered.text, 'route', config, `route data.location "${fromRoute}" (= "${rendered.text}")`);
  }

  return fromOrigin(envelope, config);
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
