import { formatTraceparent, parseTraceparent, type Envelope } from '../../core/index.ts';
import type { ServiceBusMessageLike } from './codec.ts';

/**
 * A message to send, in the shape `@azure/service-bus` senders and the Functions output
 * binding both accept (`ServiceBusMessage` without SDK types).
 */
export interface OutgoingServiceBusMessage {
  body: unknown;
  /** The CloudEvent id: Service Bus duplicate detection drops a second send of the same result. */
  messageId: string;
  /** The correlation the result carries (the input's, or the input id). */
  correlationId?: string;
  /** The event type, so subscription filters (`sys.Label`) and plain consumers can route on it. */
  subject: string;
  contentType?: string;
  /**
   * `cloudEvents:`-prefixed context attributes and extensions (CloudEvents AMQP binding, binary
   * mode), plus the trace context as `traceparent`, `tracestate` and `Diagnostic-Id`.
   */
  applicationProperties: Record<string, string | number | boolean>;
}

const PREFIX = 'cloudEvents:';

/**
 * Encode an envelope per the CloudEvents AMQP binding in binary mode: context attributes and
 * extensions as `cloudEvents:<name>` application properties, `data` as the body, the
 * content type as the message's content type. `decodeServiceBusMessage` reads it back.
 *
 * @example
 * const msg = encodeServiceBusMessage(result);
 * await sender.sendMessages(msg); // msg.messageId === result.event.id
 */
export function encodeServiceBusMessage(envelope: Envelope): OutgoingServiceBusMessage {
  const e = envelope.event;
  const props: Record<string, string | number | boolean> = {
    [`${PREFIX}specversion`]: e.specversion,
    [`${PREFIX}id`]: e.id,
    [`${PREFIX}source`]: e.source,
    [`${PREFIX}type`]: e.type,
  };
  if (e.time !== undefined) props[`${PREFIX}time`] = e.time;
  if (e.subject !== undefined) props[`${PREFIX}subject`] = e.subject;
  if (e.dataschema !== undefined) props[`${PREFIX}dataschema`] = e.dataschema;
  for (const [k, v] of Object.entries(e.extensions)) props[`${PREFIX}${k}`] = v;
  // Trace context where Service Bus consumers look for it: W3C `traceparent` (and `tracestate`),
  // and `Diagnostic-Id` for those that read only that (older Azure SDKs, Application Insights).
  const trace = parseTraceparent(e.extensions.traceparent, e.extensions.tracestate);
  if (trace) {
    props.traceparent = props['Diagnostic-Id'] = formatTraceparent(trace);
    if (trace.tracestate !== undefined) props.tracestate = trace.tracestate;
  }
  const correlation = e.extensions.correlationid;
  return {
    body: e.data ?? null,
    messageId: e.id,
    ...(correlation === undefined ? {} : { correlationId: String(correlation) }),
    subject: e.type,
    ...(e.datacontenttype === undefined ? {} : { contentType: e.datacontenttype }),
    applicationProperties: props,
  };
}

/** The fields of a received message we read: `ServiceBusReceivedMessage` fits it, so no SDK type is needed here. */
export interface ReceivedServiceBusMessage {
  body: unknown;
  messageId?: string | number | Buffer | object;
  subject?: string;
  contentType?: string;
  correlationId?: string | number | Buffer | object;
  applicationProperties?: Record<string, unknown>;
  deliveryCount?: number;
  enqueuedTimeUtc?: Date;
}

/**
 * Map a message received with `@azure/service-bus` (a dead-letter reader, a test) to the plain
 * shape `decodeServiceBusMessage` reads. A Buffer body holding JSON text is parsed when the
 * content type says JSON.
 */
export function fromReceivedMessage(msg: ReceivedServiceBusMessage, where: { namespace: string; entity: string }): ServiceBusMessageLike {
  const body = Buffer.isBuffer(msg.body) ? msg.body.toString('utf8') : msg.body;
  return {
    namespace: where.namespace,
    entity: where.entity,
    body,
    ...(msg.messageId === undefined ? {} : { messageId: String(msg.messageId) }),
    ...(msg.subject === undefined ? {} : { subject: msg.subject }),
    ...(msg.contentType === undefined ? {} : { contentType: msg.contentType }),
    ...(msg.correlationId === undefined ? {} : { correlationId: String(msg.correlationId) }),
    ...(msg.applicationProperties === undefined ? {} : { applicationProperties: msg.applicationProperties }),
    ...(msg.deliveryCount === undefined ? {} : { deliveryCount: msg.deliveryCount }),
    ...(msg.enqueuedTimeUtc === undefined ? {} : { enqueuedTimeUtc: msg.enqueuedTimeUtc.toISOString() }),
  };
}
