import type { CloudEvent, ExtensionValue } from './cloudevent.ts';
import type { Envelope, Origin } from './envelope.ts';
import { InvalidEventError } from './errors.ts';

/** An EventBridge event as delivered to targets (and as patterns see it). */
export interface EventBridgeEvent {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
  'replay-name'?: string;
}

/*
 * EventBridge ↔ CloudEvents, lossless both ways:
 *   detail-type ↔ type, detail ↔ data (datacontenttype application/json), id, source, time.
 *   account/region travel in the origin *and* as extensions `awsaccount` / `awsregion`, so a
 *   CloudEvent forwarded elsewhere still says where it was born. `resources` (an array) is
 *   carried as the JSON text of the array in `awsresources`, because extension values are scalars.
 *   A non-"0" `version` and `replay-name` are kept as `awsversion` / `awsreplayname`.
 */

export function eventBridgeToEnvelope(input: EventBridgeEvent, origin: Partial<Origin> = {}): Envelope {
  const extensions: Record<string, ExtensionValue> = {};
  if (input.account) extensions.awsaccount = input.account;
  if (input.region) extensions.awsregion = input.region;
  if (input.resources.length > 0) extensions.awsresources = JSON.stringify(input.resources);
  if (input.version !== '0') extensions.awsversion = input.version;
  if (input['replay-name'] !== undefined) extensions.awsreplayname = input['replay-name'];
  const event: CloudEvent = {
    specversion: '1.0',
    id: input.id,
    source: input.source,
    type: input['detail-type'],
    time: input.time,
    datacontenttype: 'application/json',
    data: input.detail,
    extensions,
  };
  return {
    event,
    origin: {
      transport: 'eventbridge',
      cloud: 'aws',
      ...(input.region ? { region: input.region } : {}),
      ...(input.account ? { account: input.account } : {}),
      ...origin,
    },
  };
}

/**
 * The EventBridge view of any envelope: what a route pattern sees, and what PutEvents carries.
 * For events that did not come from EventBridge, `region`/`account` come from the origin.
 */
export function toEventBridgeEvent(envelope: Envelope): EventBridgeEvent {
  const { event, origin } = envelope;
  const ext = event.extensions;
  const out: EventBridgeEvent = {
    version: typeof ext.awsversion === 'string' ? ext.awsversion : '0',
    id: event.id,
    'detail-type': event.type,
    source: event.source,
    account: stringExt(ext.awsaccount) ?? origin.account ?? '',
    time: event.time ?? '',
    region: stringExt(ext.awsregion) ?? origin.region ?? '',
    resources: parseResources(ext.awsresources),
    detail: event.data === undefined ? {} : event.data,
  };
  if (typeof ext.awsreplayname === 'string') out['replay-name'] = ext.awsreplayname;
  return out;
}

function stringExt(v: ExtensionValue | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function parseResources(v: ExtensionValue | undefined): string[] {
  if (typeof v !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === 'string') : [];
  } catch (cause) {
    throw new InvalidEventError(`extension awsresources is not a JSON array of strings: ${v.slice(0, 80)}`, { cause });
  }
}
