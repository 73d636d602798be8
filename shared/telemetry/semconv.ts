import type { Attributes } from '@opentelemetry/api';
import type { Destination, Envelope } from '../core/index.ts';

/*
 * OpenTelemetry semantic conventions as the mesh uses them (messaging, GenAI, CloudEvents).
 * Values the conventions do not list (EventBridge, the local bus) follow their naming style.
 */

/** `gen_ai.client.token.usage` buckets the GenAI conventions advise. */
export const GEN_AI_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/** `gen_ai.client.operation.duration` buckets (seconds) the GenAI conventions advise. */
export const GEN_AI_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/** `gen_ai.provider.name` of a catalogue provider kind. */
export function genAiProvider(kind: string): string {
  switch (kind) {
    case 'bedrock':
      return 'aws.bedrock';
    case 'azure-openai':
      return 'azure.ai.openai';
    case 'openai':
      return 'openai';
    default:
      return `nearmesh.${kind}`;
  }
}

/** Attributes of the messaging `process` span of an input, and the destination its name carries. */
export function originAttributes(envelope: Envelope): { destination?: string; attributes: Attributes } {
  const { event, origin } = envelope;
  const system = origin.transport === 'eventbridge' ? 'aws_eventbridge' : origin.transport === 'servicebus' ? 'servicebus' : 'cloudevents';
  const attributes: Attributes = {
    'messaging.system': system,
    'messaging.operation.name': 'process',
    'messaging.operation.type': 'process',
    'messaging.message.id': event.id,
    'cloudevents.event_id': event.id,
    'cloudevents.event_source': event.source,
    'cloudevents.event_type': event.type,
  };
  if (origin.bus !== undefined) attributes['messaging.destination.name'] = origin.bus;
  if (origin.transport === 'servicebus') {
    if (origin.deliveryCount !== undefined) attributes['messaging.servicebus.message.delivery_count'] = origin.deliveryCount;
    if (origin.namespace !== undefined) attributes['server.address'] = origin.namespace;
  }
  return { ...(origin.bus === undefined ? {} : { destination: origin.bus }), attributes };
}

/** Attributes of the messaging `send` span to one destination, and its name. */
export function destinationAttributes(d: Destination): { destination: string; attributes: Attributes } {
  const system = d.kind === 'eventbridge' ? 'aws_eventbridge' : d.kind === 'servicebus' ? 'servicebus' : 'nearmesh_local';
  const destination = d.kind === 'eventbridge' ? (d.bus ?? 'default') : d.kind === 'servicebus' ? (d.entity ?? d.name) : d.name;
  return {
    destination,
    attributes: {
      'messaging.system': system,
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': destination,
      ...(d.kind === 'servicebus' && d.namespace !== undefined ? { 'server.address': d.namespace } : {}),
    },
  };
}
