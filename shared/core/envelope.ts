import type { CloudEvent } from './cloudevent.ts';

/** Where an event physically came from. Placement reads it when nothing more precise is known. */
export interface Origin {
  /** How it reached us: an EventBridge rule, a Service Bus message, the local HTTP ingress. */
  transport: 'eventbridge' | 'servicebus' | 'http';
  /** The cloud the event was emitted in, when known. */
  cloud?: 'aws' | 'azure' | 'onprem' | 'local';
  /** The cloud region, e.g. `us-east-1` or `westeurope`. */
  region?: string;
  /** AWS account id. */
  account?: string;
  /** Service Bus namespace (short name or FQDN). */
  namespace?: string;
  /** EventBridge bus name or Service Bus entity the event arrived on; results default back to it. */
  bus?: string;
  /** How many times the transport has delivered this event (1 on first delivery). */
  deliveryCount?: number;
}

/** One event inside the mesh: a CloudEvent plus where it came from. */
export interface Envelope {
  event: CloudEvent;
  origin: Origin;
}
