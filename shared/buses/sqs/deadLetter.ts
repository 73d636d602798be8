import { InvalidEventError, type Envelope } from '../../core/index.ts';
import { decodeEventBridgeEvent } from '../eventbridge/codec.ts';
import { decodeRuleDelivery } from '../eventbridge/ruleDelivery.ts';
import { asObject, describe, optionalString, parseJson } from '../parse.ts';

/**
 * One failed event read from an SQS dead-letter queue, whatever put it there:
 * - `lambda-destination`: the record Lambda's on-failure destination writes for an
 *   asynchronous invocation that failed (`requestContext`, `requestPayload` = the function's
 *   input: the rule's `{ meshRoute, event }` or a raw EventBridge event, `responseContext`,
 *   `responsePayload`) — or the same shape, written by the handler itself for a permanent
 *   failure (condition `PermanentFailure`), so that it is not retried;
 * - `eventbridge-event`: the original event itself, as a Lambda dead-letter queue or an
 *   EventBridge target's dead-letter queue holds it (the reason is then in message attributes).
 */
export interface DeadLetter {
  kind: 'lambda-destination' | 'eventbridge-event';
  /** The original event, decoded as the pipeline decodes it, ready to replay unchanged. */
  envelope: Envelope;
  /** When it failed (the record's timestamp), else when the message was sent. */
  at?: string;
  /** The error class: the function's errorType, else the condition or error code given. */
  errorCode: string;
  /** Why, in one line. */
  reason: string;
  /** How many times Lambda invoked the function for this event. */
  attempts?: number;
  functionArn?: string;
  /** The Lambda request id of the failed invocation. */
  requestId?: string;
  /** `RetriesExhausted`, `EventAgeExceeded`, … */
  condition?: string;
  /** The route, when the failing handler put it in its error payload (`responsePayload.routeId`). */
  routeId?: string;
  stackTrace?: string[];
  responseContext?: Record<string, unknown>;
}

/** What SQS says about the message beside its body. */
export interface DeadLetterMeta {
  /** String message attributes (a Lambda DLQ sets ErrorCode, ErrorMessage, RequestID; an EventBridge target DLQ sets ERROR_CODE, ERROR_MESSAGE). */
  attributes?: Record<string, string>;
  /** When SQS received the message (ISO 8601). */
  sentAt?: string;
}

/**
 * Parse a dead-letter message body. Throws InvalidEventError naming the field at fault.
 *
 * @example
 * const letter = parseDeadLetter(message.Body, { sentAt });
 * letter.envelope.event.id // the original EventBridge event's id
 * letter.reason            // e.g. "ModelsExhausted: every endpoint failed"
 */
export function parseDeadLetter(body: string, meta: DeadLetterMeta = {}): DeadLetter {
  const doc = asObject(parseJson(body, 'message body'), 'message body');
  if ('requestContext' in doc || 'requestPayload' in doc) return parseDestinationRecord(doc, meta);
  if ('detail-type' in doc) return parseRawEvent(doc, meta);
  throw new InvalidEventError(
    'message body: expected a Lambda on-failure destination record (requestContext, requestPayload) or an EventBridge event (detail-type, source, detail)',
  );
}

function parseDestinationRecord(doc: Record<string, unknown>, meta: DeadLetterMeta): DeadLetter {
  const context = asObject(doc.requestContext, 'record.requestContext');
  const payload = doc.requestPayload;
  if (typeof payload === 'string') throw new InvalidEventError('record.requestPayload: expected the original event as a JSON object, got a string');
  // A rule target's rendered input ({ meshRoute, event }) or the raw event of a direct invoke.
  const delivery = decodeRuleDelivery(asObject(payload, 'record.requestPayload'), { cloud: 'aws' });
  const { envelope } = delivery;
  const response = doc.responsePayload === undefined || doc.responsePayload === null ? {} : asObject(doc.responsePayload, 'record.responsePayload');
  const responseContext = doc.responseContext === undefined ? undefined : asObject(doc.responseContext, 'record.responseContext');
  const condition = optionalString(context, 'condition', 'record.requestContext');
  const errorType = optionalString(response, 'errorType', 'record.responsePayload');
  const errorMessage = optionalString(response, 'errorMessage', 'record.responsePayload');
  const count = context.approximateInvokeCount;
  if (count !== undefined && (typeof count !== 'number' || !Number.isInteger(count) || count < 0)) {
    throw new InvalidEventError(`record.requestContext.approximateInvokeCount: expected a whole number, got ${describe(count)}`);
  }
  // Lambda's runtime writes `trace`; some runtimes and hand-made records say `stackTrace`.
  const rawTrace = Array.isArray(response.trace) ? response.trace : response.stackTrace;
  const trace = Array.isArray(rawTrace) ? rawTrace.filter((l): l is string => typeof l === 'string') : undefined;
  const timestamp = optionalString(doc, 'timestamp', 'record');
  const functionArn = optionalString(context, 'functionArn', 'record.requestContext');
  const requestId = optionalString(context, 'requestId', 'record.requestContext');
  // The mesh's handler cannot add fields to the record (Lambda writes only errorType,
  // errorMessage and trace), so it starts its message with `[route <id>]`.
  const routeId = delivery.route ?? optionalString(response, 'routeId', 'record.responsePayload') ?? /^\[route ([a-z0-9][a-z0-9-]*)\]/.exec(errorMessage ?? '')?.[1];
  const functionError = responseContext && typeof responseContext.functionError === 'string' ? responseContext.functionError : undefined;
  const reason =
    errorMessage !== undefined ? `${errorType ? errorType + ': ' : ''}${errorMessage}`
    : condition === 'EventAgeExceeded' ? 'the event was older than the function\'s maximum event age before it could run'
    : `the function failed${functionError ? ` (${functionError})` : ''}${condition ? `; ${condition}` : ''}`;
  return {
    kind: 'lambda-destination',
    envelope,
    ...at(timestamp ?? meta.sentAt),
    errorCode: errorType ?? condition ?? 'LambdaInvocationFailed',
    reason,
    ...(count === undefined ? {} : { attempts: count as number }),
    ...(functionArn ? { functionArn } : {}),
    ...(requestId ? { requestId } : {}),
    ...(condition ? { condition } : {}),
    ...(routeId ? { routeId } : {}),
    ...(trace && trace.length > 0 ? { stackTrace: trace } : {}),
    ...(responseContext ? { responseContext } : {}),
  };
}

function parseRawEvent(doc: Record<string, unknown>, meta: DeadLetterMeta): DeadLetter {
  const envelope = decodeEventBridgeEvent(doc, { cloud: 'aws' });
  const a = meta.attributes ?? {};
  const code = a.ErrorCode ?? a.ERROR_CODE;
  const message = a.ErrorMessage ?? a.ERROR_MESSAGE;
  const requestId = a.RequestID;
  return {
    kind: 'eventbridge-event',
    envelope,
    ...at(meta.sentAt),
    errorCode: code ?? 'DeadLettered',
    reason: message ?? 'the queue holds the event without a reason (no ErrorMessage attribute)',
    ...(requestId ? { requestId } : {}),
    ...(a.TARGET_ARN ? { functionArn: a.TARGET_ARN } : {}),
  };
}

function at(value: string | undefined): { at?: string } {
  if (value === undefined || Number.isNaN(Date.parse(value))) return {};
  return { at: new Date(value).toISOString() };
}

/** `arn:aws:lambda:us-east-1:123:function:on-event:$LATEST` → `on-event`. */
export function functionName(arn: string): string {
  const m = /:function:([^:]+)/.exec(arn);
  return m ? m[1]! : arn;
}
