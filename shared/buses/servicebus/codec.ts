import { formatTraceparent, InvalidEventError, parseTraceparent, type Envelope, type Origin, type SourceLocation } from '../../core/index.ts';
import { decodeStructuredCloudEvent, STRUCTURED } from '../cloudevents/codec.ts';
import { asObject, describe, optionalString, parseJson, requiredString } from '../parse.ts';
import { parseEntityPath } from './connect.ts';

/**
 * A received Service Bus message, in the plain shape both the Functions trigger metadata and
 * our sample files use (no SDK types: the Azure edge maps `ServiceBusReceivedMessage` to this).
 */
export interface ServiceBusMessageLike {
  namespace: string;
  entity: string;
  messageId?: string;
  subject?: string;
  contentType?: string;
  correlationId?: string;
  applicationProperties?: Record<string, unknown>;
  body: unknown;
  deliveryCount?: number;
  enqueuedTimeUtc?: string;
}

const CE_PREFIX = 'cloudEvents:';

/**
 * Decode a Service Bus message per the CloudEvents AMQP binding:
 * - `contentType: application/cloudevents+json` → structured mode, the body is the event;
 * - `cloudEvents:`-prefixed application properties → binary mode, the body is `data`;
 * - no content type and a JSON object body with `specversion` → structured mode too: the
 *   Functions Service Bus output binding sends a body only, as JSON text without a content type;
 * - otherwise a plain JSON body: `subject` is the type, `messageId` the id, and the source
 *   names the entity (`servicebus://<namespace>/<entity>`).
 * The origin's region comes from `sources[namespace]` in mesh.yaml. The origin's `bus` is the
 * entity a result can go back to: the queue, or for a subscription (`<topic>/Subscriptions/<sub>`)
 * its topic, since nothing can send to a subscription.
 */
export function decodeServiceBusMessage(input: unknown, sources: Record<string, SourceLocation> = {}): Envelope {
  const msg = asObject(input, 'message');
  const namespace = requiredString(msg, 'namespace', 'message');
  const entity = requiredString(msg, 'entity', 'message');
  const location = sources[namespace] ?? sources[namespace.split('.')[0] ?? ''];
  const deliveryCount = typeof msg.deliveryCount === 'number' ? msg.deliveryCount : 1;
  const origin: Origin = {
    transport: 'servicebus',
    cloud: 'azure',
    namespace,
    bus: parseEntityPath(entity).queueOrTopic,
    deliveryCount,
    ...(location ? { region: location.region } : {}),
  };
  const contentType = optionalString(msg, 'contentType', 'message');
  const body = typeof msg.body === 'string' && contentType && /json/.test(contentType) ? parseJson(msg.body, 'message.body') : msg.body;
  const props = msg.applicationProperties === undefined ? {} : asObject(msg.applicationProperties, 'message.applicationProperties');

  const transportCorrelation = optionalString(msg, 'correlationId', 'message');
  if (contentType?.startsWith(STRUCTURED)) return withTransport(decodeStructuredCloudEvent(body, origin, 'message.body'), transportCorrelation, props);

  const ceProps = Object.entries(props).filter(([k]) => k.startsWith(CE_PREFIX));
  if (contentType === undefined && ceProps.length === 0) {
    const event = untypedStructuredEvent(body);
    if (event) return withTransport(decodeStructuredCloudEvent(event, origin, 'message.body'), transportCorrelation, props);
  }
  if (ceProps.length > 0) {
    const attrs: Record<string, unknown> = Object.fromEntries(ceProps.map(([k, v]) => [k.slice(CE_PREFIX.length), v instanceof Date ? v.toISOString() : v]));
    if (contentType !== undefined) attrs.datacontenttype = contentType;
    if (body !== undefined) attrs.data = body;
    return withTransport(decodeStructuredCloudEvent(attrs, origin, 'message (cloudEvents: properties)'), transportCorrelation, props);
  }

  const subject = optionalString(msg, 'subject', 'message');
  if (subject === undefined) {
    throw new InvalidEventError(
      `message: no event type: set the subject, or send a CloudEvent (contentType ${STRUCTURED}, or cloudEvents:type properties)`,
    );
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidEventError(`message.body: a plain message body must be a JSON object, got ${describe(body)}`);
  }
  const messageId = requiredString(msg, 'messageId', 'message');
  const extensions: Record<string, string> = {};
  if (transportCorrelation !== undefined) extensions.correlationid = transportCorrelation;
  const envelope: Envelope = {
    event: {
      specversion: '1.0',
      id: messageId,
      source: `servicebus://${namespace}/${entity}`,
      type: subject,
      ...(typeof msg.enqueuedTimeUtc === 'string' ? { time: msg.enqueuedTimeUtc } : {}),
      datacontenttype: contentType ?? 'application/json',
      data: body,
      extensions,
    },
    origin,
  };
  return withTransport(envelope, undefined, props);
}

/** A body without a content type that is a structured CloudEvent (object or JSON text with `specversion`), else undefined. */
function untypedStructuredEvent(body: unknown): Record<string, unknown> | undefined {
  let value = body;
  if (typeof body === 'string' && body.trimStart().startsWith('{')) {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) && 'specversion' in value ? (value as Record<string, unknown>) : undefined;
}

/**
 * What the message says beside the event, for an event that does not say it itself: its
 * correlationId stands for `correlationid`; its trace context — the W3C `traceparent` (with
 * `tracestate`) application property, else the older `Diagnostic-Id` that Azure SDKs write —
 * for the `traceparent` extension. A malformed one is ignored (the event starts a new trace),
 * and only the re-formatted value is kept.
 */
function withTransport(envelope: Envelope, correlationId: string | undefined, props: Record<string, unknown>): Envelope {
  const ext = envelope.event.extensions;
  if (correlationId !== undefined && ext.correlationid === undefined) ext.correlationid = correlationId;
  if (ext.traceparent === undefined) {
    const trace = parseTraceparent(props.traceparent, props.tracestate) ?? parseTraceparent(props['Diagnostic-Id']);
    if (trace) {
      ext.traceparent = formatTraceparent(trace);
      if (trace.tracestate !== undefined) ext.tracestate = trace.tracestate;
    }
  }
  return envelope;
}
