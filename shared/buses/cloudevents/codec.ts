import {
  CONTEXT_ATTRIBUTES,
  EXTENSION_NAME,
  InvalidEventError,
  type CloudEvent,
  type Envelope,
  type ExtensionValue,
  type Origin,
} from '../../core/index.ts';
import { asObject, checkAttribute, checkTime, decodeUtf8, describe, optionalAttribute, parseJson, requiredAttribute, requiredString } from '../parse.ts';

/*
 * CloudEvents 1.0 over HTTP: structured mode (`application/cloudevents+json`), batched mode
 * (`application/cloudevents-batch+json`) and binary mode (`ce-*` headers, the body is `data`).
 */

export const STRUCTURED = 'application/cloudevents+json';
export const BATCH = 'application/cloudevents-batch+json';

/** Events in one batch, as a sane gateway takes them: a bigger batch is refused, not half-processed. */
export const MAX_BATCH_EVENTS = 100;

/**
 * The media type of a Content-Type header, lower-case, without parameters (`charset=…`):
 * compared whole, never by prefix (`application/cloudevents+jsonx` is not structured mode).
 *
 * @example mediaType('application/cloudevents+json; charset=utf-8') // → 'application/cloudevents+json'
 */
export function mediaType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return header.split(';', 1)[0]!.trim().toLowerCase();
}

/** Decode a CloudEvent in structured JSON form. */
export function decodeStructuredCloudEvent(input: unknown, origin: Origin, where = 'cloudevent'): Envelope {
  const obj = asObject(input, where);
  const specversion = requiredAttribute(obj, 'specversion', where);
  if (specversion !== '1.0') {
    throw new InvalidEventError(`${where}.specversion: only CloudEvents 1.0 is supported, got ${JSON.stringify(specversion)}`);
  }
  const event: CloudEvent = {
    specversion: '1.0',
    id: requiredAttribute(obj, 'id', where),
    source: requiredAttribute(obj, 'source', where),
    type: requiredAttribute(obj, 'type', where),
    extensions: {},
  };
  const time = optionalAttribute(obj, 'time', where);
  if (time !== undefined) event.time = checkTime(time, `${where}.time`);
  for (const key of ['subject', 'datacontenttype', 'dataschema'] as const) {
    const v = optionalAttribute(obj, key, where);
    if (v !== undefined) event[key] = v;
  }
  if (obj.data !== undefined && obj.data_base64 !== undefined) {
    throw new InvalidEventError(`${where}: has both data and data_base64; a CloudEvent carries one or the other`);
  }
  if (obj.data !== undefined) event.data = obj.data;
  if (obj.data_base64 !== undefined) {
    const b64 = requiredString(obj, 'data_base64', where);
    event.data = decodeData(Buffer.from(b64, 'base64'), event.datacontenttype, `${where}.data_base64`);
  }
  for (const [key, value] of Object.entries(obj)) {
    if (CONTEXT_ATTRIBUTES.has(key)) continue;
    event.extensions[key] = extensionValue(key, value, where);
  }
  return { event, origin };
}

/** Decode a structured-mode batch (a JSON array of CloudEvents). */
export function decodeCloudEventBatch(input: unknown, origin: Origin, maxEvents = MAX_BATCH_EVENTS): Envelope[] {
  if (!Array.isArray(input)) throw new InvalidEventError(`batch: expected a JSON array of CloudEvents, got ${describe(input)}`);
  if (input.length > maxEvents) {
    throw new InvalidEventError(`batch: has ${input.length} events; send at most ${maxEvents} per request (split the batch)`);
  }
  return input.map((item, i) => decodeStructuredCloudEvent(item, origin, `batch[${i}]`));
}

/** Decode a binary-mode CloudEvent from HTTP headers (lower-case names) and the raw body. */
export function decodeBinaryCloudEvent(headers: Record<string, string | string[] | undefined>, body: Buffer, origin: Origin): Envelope {
  const attrs: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    attrs[name.slice(3)] = decodeURIComponentSafe(value);
  }
  if (attrs.data !== undefined || attrs.data_base64 !== undefined) {
    throw new InvalidEventError('headers: ce-data is not an attribute; in binary mode the body is the data');
  }
  const contentType = firstHeader(headers['content-type']);
  if (contentType !== undefined) attrs.datacontenttype = checkAttribute(contentType, 'headers.content-type');
  const envelope = decodeStructuredCloudEvent(attrs, origin, 'headers (ce-*)');
  if (body.length > 0) envelope.event.data = decodeData(body, contentType, 'body');
  return envelope;
}

function decodeData(bytes: Buffer, contentType: string | undefined, where: string): unknown {
  // The mesh carries JSON and text: bytes that are not UTF-8 would be changed by decoding, so they are refused.
  const text = decodeUtf8(bytes, where);
  if (contentType === undefined || /[/+]json(\s*;|$)/.test(contentType)) return parseJson(text, where);
  return text;
}

function extensionValue(key: string, value: unknown, where: string): ExtensionValue {
  if (!EXTENSION_NAME.test(key)) {
    throw new InvalidEventError(`${where}.${key}: extension attribute names must be 1-20 lower-case letters or digits`);
  }
  if (typeof value === 'string') return checkAttribute(value, `${where}.${key}`);
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isInteger(value))) return value;
  throw new InvalidEventError(`${where}.${key}: extension values must be a string, integer or boolean, got ${describe(value)}`);
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Binary-mode header values are percent-encoded (CloudEvents HTTP binding §3.1.3.2). */
function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
