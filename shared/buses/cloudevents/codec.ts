import {
  CONTEXT_ATTRIBUTES,
  EXTENSION_NAME,
  InvalidEventError,
  type CloudEvent,
  type Envelope,
  type ExtensionValue,
  type Origin,
} from '../../core/index.ts';
import { asObject, checkTime, describe, optionalString, parseJson, requiredString } from '../parse.ts';

/*
 * CloudEvents 1.0 over HTTP: structured mode (`application/cloudevents+json`), batched mode
 * (`application/cloudevents-batch+json`) and binary mode (`ce-*` headers, the body is `data`).
 */

export const STRUCTURED = 'application/cloudevents+json';
export const BATCH = 'application/cloudevents-batch+json';

/** Decode a CloudEvent in structured JSON form. */
export function decodeStructuredCloudEvent(input: unknown, origin: Origin, where = 'cloudevent'): Envelope {
  const obj = asObject(input, where);
  const specversion = requiredString(obj, 'specversion', where);
  if (specversion !== '1.0') {
    throw new InvalidEventError(`${where}.specversion: only CloudEvents 1.0 is supported, got ${JSON.stringify(specversion)}`);
  }
  const event: CloudEvent = {
    specversion: '1.0',
    id: requiredString(obj, 'id', where),
    source: requiredString(obj, 'source', where),
    type: requiredString(obj, 'type', where),
    extensions: {},
  };
  const time = optionalString(obj, 'time', where);
  if (time !== undefined) event.time = checkTime(time, `${where}.time`);
  for (const key of ['subject', 'datacontenttype', 'dataschema'] as const) {
    const v = optionalString(obj, key, where);
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
export function decodeCloudEventBatch(input: unknown, origin: Origin): Envelope[] {
  if (!Array.isArray(input)) throw new InvalidEventError(`batch: expected a JSON array of CloudEvents, got ${describe(input)}`);
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
  if (contentType !== undefined) attrs.datacontenttype = contentType;
  const envelope = decodeStructuredCloudEvent(attrs, origin, 'headers (ce-*)');
  if (body.length > 0) envelope.event.data = decodeData(body, contentType, 'body');
  return envelope;
}

function decodeData(bytes: Buffer, contentType: string | undefined, where: string): unknown {
  const text = bytes.toString('utf8');
  if (contentType === undefined || /[/+]json(\s*;|$)/.test(contentType)) return parseJson(text, where);
  return text;
}

function extensionValue(key: string, value: unknown, where: string): ExtensionValue {
  if (!EXTENSION_NAME.test(key)) {
    throw new InvalidEventError(`${where}.${key}: extension attribute names must be 1-20 lower-case letters or digits`);
  }
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isInteger(value))) return value;
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
