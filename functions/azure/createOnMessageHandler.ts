import type { InvocationContext } from '@azure/functions';
import { decodeServiceBusMessage, encodeServiceBusMessage, type OutgoingServiceBusMessage } from '../../shared/buses/index.ts';
import { MeshError, toMeshError, type Envelope, type EventOutcome } from '../../shared/core/index.ts';
import type { AzureMesh } from '../../shared/runtime/createAzureMesh.ts';
import { triggerMessages } from './triggerMessages.ts';

/**
 * Dead-letters one of the invocation's messages (by its index in the batch) with a reason.
 * Shaped after the settlement actions of the Functions Service Bus extension
 * (`actions.deadletter(message, reason, description)`); absent where the app has none.
 */
export interface MessageSettlement {
  deadLetter(index: number, reason: string, description: string): Promise<void>;
}

export interface OnMessageDeps {
  mesh: () => Promise<AzureMesh>;
  namespace: string;
  /** The entity the trigger reads: `tickets` or `tickets/Subscriptions/mesh`. */
  entity: string;
  /** Deliveries after which a still-retryable failure is dead-lettered too (the entity's MaxDeliveryCount). */
  maxDeliveryCount: number;
  /** Where results for the output binding go: `context.extraOutputs.set(output, messages)`. */
  setBindingOutput: (context: InvocationContext, messages: OutgoingServiceBusMessage[]) => void;
  /** Settlement actions for this invocation, when the app has them; otherwise failures throw. */
  settlement?: (messages: unknown, context: InvocationContext) => MessageSettlement | undefined;
}

/** Another delivery of the same event holds the route's claim: wait for it, then see it done. */
export class DeliveryInProgressError extends MeshError {
  readonly code = 'DeliveryInProgress';
  readonly retryable = true;
}

/** One or more messages of the batch must be delivered again: the host abandons the batch. */
export class RetryDeliveryError extends Error {
  constructor(readonly failures: { messageId: string; error: MeshError }[]) {
    super(`retrying ${failures.length} message(s): ${failures.map((f) => `${f.messageId}: ${f.error.code}${f.error.context.routeId ? ` [${String(f.error.context.routeId)}]` : ''}: ${f.error.message}`).join('; ')}`);
    this.name = 'RetryDeliveryError';
  }
}

type Verdict = { kind: 'done' } | { kind: 'retry'; error: MeshError } | { kind: 'dead-letter'; error: MeshError };

/**
 * The Service Bus trigger handler: decode each message of the batch, run it through the one
 * pipeline, then settle:
 * - all routes emitted (or already had): done; results for the output binding's entity go
 *   to `context.extraOutputs`, the host sends them after the function returns;
 * - a retryable failure (throttled, timed out, publish failed, a claim held elsewhere) while
 *   the message has deliveries left: the invocation throws, the host abandons the batch and
 *   Service Bus delivers it again (idempotency turns finished routes into duplicates);
 * - a permanent failure, or a retryable one on the last delivery: dead-lettered with the
 *   mesh error code as DeadLetterReason and `[route] message` as description, through the
 *   settlement actions. Without them the invocation throws and Service Bus dead-letters the
 *   message itself after MaxDeliveryCount (reason MaxDeliveryCountExceeded; the mesh error is
 *   in the function's logs and exception).
 * Before throwing, results collected for the binding are sent through a sender: a thrown
 * invocation's outputs are dropped by the host, and their routes are already marked done.
 */
export function createOnMessageHandler(deps: OnMessageDeps) {
  return async function onMessage(messages: unknown, context: InvocationContext): Promise<void> {
    const mesh = await deps.mesh();
    const binding: Envelope[] = [];
    const pipeline = mesh.pipelineFor(binding);
    const raw = Array.isArray(messages) ? messages : [messages];
    const items = triggerMessages(messages, context.triggerMetadata, { namespace: deps.namespace, entity: deps.entity });

    const verdicts = await Promise.all(
      items.map(async (item): Promise<Verdict> => {
        let outcome: EventOutcome;
        try {
          outcome = await pipeline.process(decodeServiceBusMessage(item, mesh.config.sources));
        } catch (err) {
          const error = toMeshError(err, item.messageId ? { eventId: item.messageId } : {});
          return error.retryable && (item.deliveryCount ?? 1) < deps.maxDeliveryCount ? { kind: 'retry', error } : { kind: 'dead-letter', error };
        }
        return verdictOf(outcome, item.deliveryCount ?? 1, deps.maxDeliveryCount);
      }),
    );

    const settlement = deps.settlement?.(messages, context);
    const retry: { messageId: string; error: MeshError }[] = [];
    for (const [i, v] of verdicts.entries()) {
      const messageId = items[i]!.messageId ?? `#${i}`;
      if (v.kind === 'done') continue;
      if (v.kind === 'dead-letter' && settlement) {
        await settlement.deadLetter(i, v.error.code, describeError(v.error));
        context.warn('message dead-lettered', { messageId, code: v.error.code, routeId: v.error.context.routeId });
        continue;
      }
      retry.push({ messageId, error: v.error });
    }
    if (retry.length > 0) {
      await flushThroughSender(mesh, binding, context);
      context.error('messages will be delivered again', { count: retry.length, of: raw.length });
      throw new RetryDeliveryError(retry);
    }
    deps.setBindingOutput(context, binding.map(encodeServiceBusMessage));
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

async function flushThroughSender(mesh: AzureMesh, binding: Envelope[], context: InvocationContext): Promise<void> {
  if (binding.length === 0 || !mesh.resultsDestination) return;
  const outcomes = await mesh.publisher.publish(mesh.resultsDestination, binding.splice(0));
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length > 0) context.error('results for the output binding could not be sent before the retry', { failed: failed.map((f) => f.id) });
}
