import type { InvocationContext } from '@azure/functions';
import { decodeServiceBusMessage, fromReceivedMessage, type ReceivedServiceBusMessage } from '../../shared/buses/index.ts';
import { MeshError, toMeshError, toStructured, type Envelope, type EventOutcome } from '../../shared/core/index.ts';
import type { AzureMesh } from '../../shared/runtime/createAzureMesh.ts';

/** A message as the Service Bus extension hands it over (`ServiceBusReceivedMessage` fits). */
export interface TriggerMessage extends ReceivedServiceBusMessage {
  lockToken?: string;
}

/**
 * The settlement actions of `@azure/functions-extensions-servicebus` (gRPC calls to the host,
 * which settles on its own receive link), as far as the handler uses them.
 */
export interface SettlementActions {
  complete(message: TriggerMessage): Promise<void>;
  abandon(message: TriggerMessage): Promise<void>;
  deadletter(message: TriggerMessage, propertiesToModify?: Uint8Array, deadletterReason?: string, deadletterErrorDescription?: string): Promise<void>;
}

/** What a `sdkBinding: true` Service Bus trigger receives: the batch and the actions to settle it. */
export interface MessageBatch {
  messages: TriggerMessage | TriggerMessage[];
  actions: SettlementActions;
}

/**
 * The trigger's input as a MessageBatch, or an error saying what is missing: without the
 * extension's settlement actions the handler cannot settle anything.
 */
export function asMessageBatch(input: unknown): MessageBatch {
  const batch = input as Partial<MessageBatch> | null;
  if (batch && typeof batch === 'object' && batch.messages !== undefined && typeof batch.actions?.complete === 'function') {
    return { messages: batch.messages, actions: withWrappedReasons(batch.actions) };
  }
  throw new Error(
    'on-message got no settlement actions: the trigger needs `sdkBinding: true` and the app must import @azure/functions-extensions-servicebus before registering it; the messages stay locked and are delivered again',
  );
}

/**
 * The extension's `deadletter` puts reason and description into a gRPC request whose fields are
 * `google.protobuf.StringValue` messages; given plain strings (as its signature asks), the
 * request fails to serialize ("deadletterReason: object expected", 0.2.0-preview). Passing the
 * wrapper shape `{ value }` is what goes over the wire either way.
 */
function withWrappedReasons(actions: SettlementActions): SettlementActions {
  const wrap = (s: string | undefined) => (s === undefined ? undefined : ({ value: s } as unknown as string));
  return {
    complete: (m) => actions.complete(m),
    abandon: (m) => actions.abandon(m),
    deadletter: (m, props, reason, description) => actions.deadletter(m, props, wrap(reason), wrap(description)),
  };
}

export interface OnMessageDeps {
  mesh: () => Promise<AzureMesh>;
  namespace: string;
  /** The entity the trigger reads: `tickets` or `tickets/Subscriptions/mesh`. */
  entity: string;
  /** Deliveries after which a still-retryable failure is dead-lettered too (the entity's MaxDeliveryCount). */
  maxDeliveryCount: number;
  /** Where results for the output binding go: `context.extraOutputs.set(output, bodies)`. */
  setBindingOutput: (context: InvocationContext, bodies: Record<string, unknown>[]) => void;
}

/** Another delivery of the same event holds the route's claim: wait for it, then see it done. */
export class DeliveryInProgressError extends MeshError {
  readonly code = 'DeliveryInProgress';
  readonly retryable = true;
}

type Verdict = { kind: 'done' } | { kind: 'retry'; error: MeshError } | { kind: 'dead-letter'; error: MeshError };

/**
 * The Service Bus trigger handler: decode each message of the batch, run it through the one
 * pipeline, then settle each message itself (the trigger has `autoCompleteMessages: false`):
 * - all routes emitted (or already had): completed;
 * - a retryable failure (throttled, timed out, publish failed, a claim held elsewhere) while
 *   the message has deliveries left: abandoned, so Service Bus delivers it again (idempotency
 *   turns its finished routes into duplicates);
 * - a permanent failure, or a retryable one on the last delivery: dead-lettered at once with
 *   the mesh error code as DeadLetterReason and `[route] message` as description.
 * Results for the output binding's entity go to `context.extraOutputs` as structured-mode
 * CloudEvents (the binding can set only a body); the host sends them when the handler returns.
 * The handler does not throw for a message's failure: a thrown invocation's outputs are
 * dropped by the host, and their routes are already marked done.
 */
export function createOnMessageHandler(deps: OnMessageDeps) {
  return async function onMessage(batch: MessageBatch, context: InvocationContext): Promise<void> {
    const mesh = await deps.mesh();
    const binding: Envelope[] = [];
    const pipeline = mesh.pipelineFor(binding);
    const messages = Array.isArray(batch.messages) ? batch.messages : [batch.messages];
    const where = { namespace: deps.namespace, entity: deps.entity };

    const verdicts = await Promise.all(
      messages.map(async (message): Promise<Verdict> => {
        const deliveryCount = message.deliveryCount ?? 1;
        let outcome: EventOutcome;
        try {
          outcome = await pipeline.process(decodeServiceBusMessage(fromReceivedMessage(message, where), mesh.config.sources));
        } catch (err) {
          const error = toMeshError(err, message.messageId === undefined ? {} : { eventId: String(message.messageId) });
          return error.retryable && deliveryCount < deps.maxDeliveryCount ? { kind: 'retry', error } : { kind: 'dead-letter', error };
        }
        return verdictOf(outcome, deliveryCount, deps.maxDeliveryCount);
      }),
    );
    deps.setBindingOutput(context, binding.map((e) => toStructured(e.event)));

    await Promise.all(
      verdicts.map(async (v, i) => {
        const message = messages[i]!;
        const messageId = message.messageId === undefined ? `#${i}` : String(message.messageId);
        try {
          if (v.kind === 'done') return await batch.actions.complete(message);
          const fields = { messageId, deliveryCount: message.deliveryCount ?? 1, code: v.error.code, routeId: v.error.context.routeId, error: v.error.message };
          if (v.kind === 'retry') {
            await batch.actions.abandon(message);
            context.warn('message abandoned: it will be delivered again', fields);
          } else {
            await batch.actions.deadletter(message, undefined, v.error.code, describeError(v.error));
            context.error('message dead-lettered', fields);
          }
        } catch (err) {
          // The lock is lost or the host is gone: Service Bus delivers the message again when
          // its lock expires, and the routes already done come back as duplicates.
          context.error('settling the message failed; it will be delivered again when its lock expires', { messageId, verdict: v.kind, error: err instanceof Error ? err.message : String(err) });
        }
      }),
    );
  };
}

function verdictOf(outcome: EventOutcome, deliveryCount: number, maxDeliveryCount: number): Verdict {
  const failed = outcome.routes.filter((r) => r.status === 'failed' && r.error);
  const permanent = failed.find((r) => !r.error!.retryable);
  if (permanent) return { kind: 'dead-letter', error: permanent.error! };
  const held = outcome.routes.find((r) => r.status === 'in-progress');
  const error =
    failed[0]?.error ??
    (held && new DeliveryInProgressError(`route ${held.routeId} is being processed by another delivery of event ${outcome.eventId}`, { context: { routeId: held.routeId, eventId: outcome.eventId } }));
  if (!error) return { kind: 'done' };
  return deliveryCount < maxDeliveryCount ? { kind: 'retry', error } : { kind: 'dead-letter', error };
}

/** `[ticket-triage] every allowed endpoint failed …` — what an on-call engineer reads in the dead-letter queue. */
function describeError(error: MeshError): string {
  const route = error.context.routeId ? `[${String(error.context.routeId)}] ` : '';
  return `${route}${error.message}`.slice(0, 1024);
}
