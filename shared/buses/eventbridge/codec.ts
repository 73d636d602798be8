import { eventBridgeToEnvelope, formatXrayTraceHeader, InvalidEventError, parseTraceparent, toEventBridgeEvent, type Envelope, type EventBridgeEvent, type Origin } from '../../core/index.ts';
import { asObject, checkAttribute, checkTime, describe, optionalAttribute, parseJson, requiredAttribute, requiredString } from '../parse.ts';

/** A PutEvents request entry (AWS JSON 1.1 field names). */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Resources?: string[];
  Time?: string;
  EventBusName?: string;
  TraceHeader?: string;
}

/**
 * Decode an EventBridge event as EventBridge delivers it to a target (a Lambda's input).
 *
 * @example decodeEventBridgeEvent(JSON.parse(body)).event.type // the event's detail-type
 */
export function decodeEventBridgeEvent(input: unknown, origin: Partial<Origin> = {}): Envelope {
  const obj = asObject(input, 'event');
  const resources = obj.resources === undefined ? [] : obj.resources;
  if (!Array.isArray(resources) || resources.some((r) => typeof r !== 'string')) {
    throw new InvalidEventError(`event.resources: expected an array of strings, got ${describe(obj.resources)}`);
  }
  if (obj.detail !== undefined && (obj.detail === null || typeof obj.detail !== 'object' || Array.isArray(obj.detail))) {
    throw new InvalidEventError(`event.detail: expected a JSON object, got ${describe(obj.detail)}`);
  }
  (resources as string[]).forEach((r, i) => checkAttribute(r, `event.resources[${i}]`));
  const event: EventBridgeEvent = {
    version: optionalAttribute(obj, 'version', 'event') ?? '0',
    id: requiredAttribute(obj, 'id', 'event'),
    'detail-type': requiredAttribute(obj, 'detail-type', 'event'),
    source: requiredAttribute(obj, 'source', 'event'),
    account: optionalAttribute(obj, 'account', 'event') ?? '',
    time: checkTime(requiredAttribute(obj, 'time', 'event'), 'event.time'),
    region: optionalAttribute(obj, 'region', 'event') ?? '',
    resources: resources as string[],
    detail: obj.detail ?? {},
  };
  const replay = optionalAttribute(obj, 'replay-name', 'event');
  if (replay !== undefined) event['replay-name'] = replay;
  return eventBridgeToEnvelope(event, origin);
}

export interface PutEventsContext {
  /** The id EventBridge would assign. */
  id: string;
  now: Date;
  region: string;
  account: string;
}

/** Decode one PutEvents entry into the event EventBridge would deliver. `where` names it in errors (`Entries[3]`). */
export function decodePutEventsEntry(input: unknown, ctx: PutEventsContext, where = 'entry'): Envelope {
  const entry = asObject(input, where);
  const detailText = requiredString(entry, 'Detail', where);
  const detail = parseJson(detailText, `${where}.Detail`);
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
    throw new InvalidEventError(`${where}.Detail: expected the JSON text of an object, got ${describe(detail)}`);
  }
  const resources = entry.Resources ?? [];
  if (!Array.isArray(resources) || resources.some((r) => typeof r !== 'string')) {
    throw new InvalidEventError(`${where}.Resources: expected an array of strings, got ${describe(entry.Resources)}`);
  }
  (resources as string[]).forEach((r, i) => checkAttribute(r, `${where}.Resources[${i}]`));
  const time = optionalAttribute(entry, 'Time', where);
  const bus = optionalAttribute(entry, 'EventBusName', where);
  const trace = optionalAttribute(entry, 'TraceHeader', where);
  const envelope = eventBridgeToEnvelope(
    {
      version: '0',
      id: ctx.id,
      'detail-type': requiredAttribute(entry, 'DetailType', where),
      source: requiredAttribute(entry, 'Source', where),
      account: ctx.account,
      time: time === undefined ? isoSeconds(ctx.now) : isoSeconds(new Date(checkTime(time, `${where}.Time`))),
      region: ctx.region,
      resources: resources as string[],
      detail,
    },
    { bus: busName(bus ?? 'default') },
  );
  if (trace !== undefined) envelope.event.extensions.awstraceheader = trace;
  return envelope;
}

/** The PutEvents entry that publishes an envelope to `bus` (results going back to EventBridge). */
export function encodePutEventsEntry(envelope: Envelope, bus: string): PutEventsEntry {
  const view = toEventBridgeEvent(envelope);
  const entry: PutEventsEntry = {
    Source: view.source,
    DetailType: view['detail-type'],
    Detail: JSON.stringify(view.detail),
    EventBusName: bus,
  };
  if (view.resources.length > 0) entry.Resources = view.resources;
  if (envelope.event.time) entry.Time = envelope.event.time;
  // The X-Ray header of the event's W3C trace context (X-Ray reads W3C trace ids), else the one it came with.
  const w3c = parseTraceparent(envelope.event.extensions.traceparent);
  const trace = w3c ? formatXrayTraceHeader(w3c) : envelope.event.extensions.awstraceheader;
  if (typeof trace === 'string') entry.TraceHeader = trace;
  return entry;
}

/** EventBridge times have second precision. */
function isoSeconds(d: Date): string {
  // toISOString is always …THH:mm:ss.sssZ for the years an event can carry: drop the milliseconds.
  const iso = d.toISOString();
  return iso.endsWith('Z') && iso[iso.length - 5] === '.' ? `${iso.slice(0, -5)}Z` : iso;
}

/** `arn:aws:events:us-east-1:123:event-bus/orders` → `orders`. */
function busName(nameOrArn: string): string {
  const i = nameOrArn.lastIndexOf('event-bus/');
  return i >= 0 ? nameOrArn.slice(i + 'event-bus/'.length) : nameOrArn;
}
