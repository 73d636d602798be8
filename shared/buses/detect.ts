import { InvalidEventError, type Envelope, type Origin, type SourceLocation } from '../core/index.ts';
import { decodeCloudEventBatch, decodeStructuredCloudEvent } from './cloudevents/codec.ts';
import { decodeEventBridgeEvent, decodePutEventsEntry, type PutEventsContext } from './eventbridge/codec.ts';
import { asObject } from './parse.ts';
import { decodeServiceBusMessage } from './servicebus/codec.ts';

export type EventFileKind = 'eventbridge-event' | 'putevents-entry' | 'cloudevent' | 'cloudevent-batch' | 'servicebus-message';

/**
 * What kind of event a JSON document is, by its shape: an EventBridge event (`detail-type`),
 * a PutEvents entry (`DetailType`), a CloudEvent (`specversion`), a Service Bus message
 * (`body` + `namespace`). This is how `mesh emit` and `npm start` read event files.
 */
export function detectEventKind(doc: unknown): EventFileKind {
  if (Array.isArray(doc)) return 'cloudevent-batch';
  const obj = asObject(doc, 'file');
  if ('specversion' in obj) return 'cloudevent';
  if ('detail-type' in obj) return 'eventbridge-event';
  if ('DetailType' in obj || 'Detail' in obj) return 'putevents-entry';
  if ('body' in obj && 'namespace' in obj) return 'servicebus-message';
  throw new InvalidEventError(
    'file: not an event we know: expected an EventBridge event ("detail-type"), a PutEvents entry ("DetailType"), ' +
      'a CloudEvent ("specversion") or a Service Bus message ("namespace" and "body")',
  );
}

export interface DecodeAnyOptions {
  sources: Record<string, SourceLocation>;
  putEvents: PutEventsContext;
  /** Origin of CloudEvents received over local HTTP. */
  httpOrigin: Origin;
}

/** Decode any supported event document into envelopes (a batch yields several). */
export function decodeAny(doc: unknown, options: DecodeAnyOptions): Envelope[] {
  switch (detectEventKind(doc)) {
    case 'cloudevent':
      return [decodeStructuredCloudEvent(doc, options.httpOrigin)];
    case 'cloudevent-batch':
      return decodeCloudEventBatch(doc, options.httpOrigin);
    case 'eventbridge-event':
      return [decodeEventBridgeEvent(doc)];
    case 'putevents-entry':
      return [decodePutEventsEntry(doc, options.putEvents)];
    case 'servicebus-message':
      return [decodeServiceBusMessage(doc, options.sources)];
  }
}
