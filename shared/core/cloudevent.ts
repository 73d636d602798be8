/**
 * CloudEvents 1.0 in memory. Extension attribute names are lower-case letters and digits;
 * values are strings, numbers or booleans (the spec's canonical string form is used on the wire).
 */
export type ExtensionValue = string | number | boolean;

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time?: string;
  subject?: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: unknown;
  /** Extension attributes (`correlationid`, `datalocation`, `dataclassification`, …). */
  extensions: Record<string, ExtensionValue>;
}

/** The attributes the spec defines. Anything else is an extension. */
export const CONTEXT_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
]);

/** Extension names must be lower-case ASCII letters or digits (CloudEvents 1.0, §Attribute Naming). */
export const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** Flatten to the structured-mode JSON shape (extensions beside the context attributes). */
export function toStructured(event: CloudEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { specversion: event.specversion, id: event.id, source: event.source, type: event.type };
  for (const key of ['time', 'subject', 'datacontenttype', 'dataschema'] as const) {
    if (event[key] !== undefined) out[key] = event[key];
  }
  for (const [k, v] of Object.entries(event.extensions)) out[k] = v;
  if (event.data !== undefined) out.data = event.data;
  return out;
}
