import { toEventBridgeEvent, type Envelope } from '../core/index.ts';
import { functionName, type DeadLetterEntry, type ServiceBusDeadLetterEntry } from '../buses/index.ts';

/** A failed event held in a dead-letter queue, as `mesh failed --source sqs:…|servicebus:…` shows it. */
export interface DeadLetterView {
  /** `sqs:<queue-url>` or `servicebus:<namespace>/<entity>`. */
  source: string;
  /** `<source>#<message-id>`: what `mesh failed show` takes. */
  id: string;
  messageId: string;
  receiveCount?: number;
  sentAt?: string;
  /** When it failed (the record's timestamp, else when it was sent to the queue). */
  at?: string;
  eventId?: string;
  /** The record's route, else the loaded routes that match the event. */
  routeIds: string[];
  errorCode: string;
  message: string;
  /** Lambda's approximate invoke count. */
  attempts?: number;
  /** The Lambda function (name) that failed. */
  endpoint?: string;
  functionArn?: string;
  requestId?: string;
  condition?: string;
  kind?: 'lambda-destination' | 'eventbridge-event';
  stackTrace?: string[];
  /** The original event (EventBridge shape). */
  event?: unknown;
}


/** A Service Bus dead letter as `mesh failed` shows it: the same view as an SQS one. */
export function serviceBusView(label: string, entry: ServiceBusDeadLetterEntry, findRoutes: (e: Envelope) => string[]): DeadLetterView {
  const sb = entry.serviceBus;
  const base = {
    source: label,
    id: `${label}#${sb.messageId}`,
    messageId: sb.messageId,
    ...(sb.deliveryCount === undefined ? {} : { receiveCount: sb.deliveryCount }),
    ...(sb.enqueuedAt === undefined ? {} : { sentAt: sb.enqueuedAt, at: sb.enqueuedAt }),
    errorCode: sb.reason ?? 'DeadLettered',
  };
  if (!sb.envelope) return { ...base, routeIds: [], errorCode: 'Unreadable', message: `${entry.problem ?? 'unreadable message'}${sb.reason ? ` (dead-lettered as ${sb.reason})` : ''}` };
  // The function dead-letters with the mesh error code as reason and `[route <id>] …` when it knows the route.
  const routeId = /^\[route ([a-z0-9][a-z0-9-]*)\]/.exec(sb.description ?? '')?.[1];
  return {
    ...base,
    eventId: sb.envelope.event.id,
    routeIds: routeId ? [routeId] : findRoutes(sb.envelope),
    message: sb.description ?? 'the subqueue holds the event without a DeadLetterErrorDescription',
    event: toEventBridgeEvent(sb.envelope),
  };
}


/** An SQS dead letter (a Lambda on-failure record or a rule's DLQ event) as `mesh failed` shows it. */
export function deadLetterView(queueUrl: string, entry: DeadLetterEntry, findRoutes: (e: Envelope) => string[]): DeadLetterView {
  const { message, letter } = entry;
  const base = {
    source: `sqs:${queueUrl}`,
    id: `sqs:${queueUrl}#${message.messageId}`,
    messageId: message.messageId,
    ...(message.receiveCount === undefined ? {} : { receiveCount: message.receiveCount }),
    ...(message.sentAt === undefined ? {} : { sentAt: message.sentAt }),
  };
  if (!letter) return { ...base, routeIds: [], errorCode: 'Unreadable', message: entry.problem ?? 'unreadable message', ...(message.sentAt ? { at: message.sentAt } : {}) };
  return {
    ...base,
    kind: letter.kind,
    ...(letter.at === undefined ? {} : { at: letter.at }),
    eventId: letter.envelope.event.id,
    routeIds: letter.routeId ? [letter.routeId] : findRoutes(letter.envelope),
    errorCode: letter.errorCode,
    message: letter.reason,
    ...(letter.attempts === undefined ? {} : { attempts: letter.attempts }),
    ...(letter.functionArn ? { endpoint: functionName(letter.functionArn), functionArn: letter.functionArn } : {}),
    ...(letter.requestId ? { requestId: letter.requestId } : {}),
    ...(letter.condition ? { condition: letter.condition } : {}),
    ...(letter.stackTrace ? { stackTrace: letter.stackTrace } : {}),
    event: toEventBridgeEvent(letter.envelope),
  };
}

