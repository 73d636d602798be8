import type { InvocationContext } from '@azure/functions';
import { decodeServiceBusMessage, fromReceivedMessage, type ReceivedServiceBusMessage } from '../../shared/buses/index.ts';
import { MeshError, toMeshError, type Envelope, type EventOutcome, type PlacementDecision } from '../../shared/core/index.ts';
import type { AzureMesh } from '../../shared/runtime/createAzureMesh.ts';
import { EdgeUnavailableError } from './EdgeUnavailableError.ts';
import { spacingFor, type Spacing } from './redeliverySpacing.ts';

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
  /** Extends the message's lock by the entity's LockDuration (a hold before abandoning uses it). */
  renewMessageLock?(message: TriggerMessage): Promise<void>;
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
    ...(typeof actions.renewMessageLock === 'function' ? { renewMessageLock: (m: TriggerMessage) => actions.renewMessageLock!(m) } : {}),
  };
}

export interface OnMessageDeps {
  /** The mesh, built once per worker; a rejection means the function cannot work (settings, config, table). */
  mesh: () => Promise<Pick<AzureMesh, 'config' | 'pipeline'>>;
  namespace: string;
  /** The entity the trigger reads: `tickets` or `tickets/Subscriptions/mesh`. */
  entity: string;
  /** Deliveries after which a still-retryable failure is dead-lettered too (the entity's MaxDeliveryCount). */
  maxDeliveryCount: number;
  /** The entity's LockDuration: a hold before abandoning renews the lock in slices shorter than this. */
  lockDurationMs: number;
  /** The longest a message is held before it is abandoned (Retry-After and backoff are capped by it). */
  maxRetryWaitMs: number;
  /** Injected by tests: how the hold waits, jitter, the time. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/** Another delivery of the same event holds the route's claim: wait for it, then see it done. */
export class DeliveryInProgressError extends MeshError {
  override readonly name = 'DeliveryInProgressError';
  readonly code = 'DeliveryInProgress';
  readonly retryable = true;
}

type Verdict =
  | { kind: 'done' }
  | { kind: 'retry'; error: MeshError; errors: MeshError[]; placements: (PlacementDecision | undefined)[] }
  | { kind: 'dead-letter'; error: MeshError };

/** Codes that say the function or its store failed, not the event: the dead-letter description says so. */
const INFRASTRUCTURE = new Set(['EdgeUnavailable', 'StoreUnavailable', 'IdempotencyStoreUnavailable']);

/**
 * The Service Bus trigger handler: decode each message of the batch, run it through the one
 * pipeline (its lock renewed while it runs), and settle each message itself as soon as its
 * own `process` has returned (the trigger has `autoCompleteMessages: false`):
 * - all routes emitted (or already had): completed. Results were sent (and awaited) inside
 *   `process`, so a completed message never has a result still to send;
 * - a retryable failure while the message has deliveries left: held for a while (the server's
 *   Retry-After, an open circuit's cool-down, else backoff by delivery count; the lock is
 *   renewed meanwhile), then abandoned, so Service Bus delivers it again; idempotency turns
 *   its finished routes into duplicates;
 * - a permanent failure, or a retryable one on the last delivery: dead-lettered at once with
 *   the mesh error code as DeadLetterReason and `[route] message` as description.
 * The function's own trouble (settings, mesh.yaml, the idempotency table, a store failure
 * thrown out of the pipeline) is `EdgeUnavailable`, retryable: it never dead-letters an event
 * before its last delivery. The handler does not throw for a message's failure.
 *
 * @example
 * const onMessage = createOnMessageHandler({ mesh: async () => mesh, namespace: 'acme-support', entity: 'tickets/Subscriptions/mesh', maxDeliveryCount: 10, lockDurationMs: 60_000, maxRetryWaitMs: 60_000 });
 * await onMessage(asMessageBatch(input), context);
 */
export function createOnMessageHandler(deps: OnMessageDeps) {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? Date.now;
  // Renew this long before the lock would expire: a renewal is one round trip through the host.
  const margin = Math.min(5_000, deps.lockDurationMs / 5);
  const slice = Math.max(1, deps.lockDurationMs - margin);

  return async function onMessage(batch: MessageBatch, context: InvocationContext): Promise<void> {
    const started = now();
    const messages = Array.isArray(batch.messages) ? batch.messages : [batch.messages];
    const where = { namespace: deps.namespace, entity: deps.entity };
    let mesh: Pick<AzureMesh, 'config' | 'pipeline'> | undefined;
    let unavailable: EdgeUnavailableError | undefined;
    try {
      mesh = await deps.mesh();
    } catch (err) {
      unavailable = EdgeUnavailableError.from(err, 'the function could not start its mesh (app settings, mesh.yaml, routes or the idempotency table); fix it and the messages are processed on a later delivery');
    }

    // Each message is settled as soon as its own pipeline run ended: its results were sent
    // (and awaited) inside `process`, so nothing of it is left to send, and a fast message does
    // not wait — with its lock running out — for a slow sibling. While it runs, its lock is renewed.
    await Promise.all(
      messages.map(async (message, i): Promise<void> => {
        const stopRenewing = keepLocked(message, batch.actions, context);
        let v: Verdict;
        try {
          v = await verdictFor(message);
        } finally {
          stopRenewing();
        }
        await settle(v, message, i);
      }),
    );

    async function verdictFor(message: TriggerMessage): Promise<Verdict> {
      const deliveryCount = message.deliveryCount ?? 1;
      const retryOrDeadLetter = (error: MeshError): Verdict =>
        error.retryable && deliveryCount < deps.maxDeliveryCount ? { kind: 'retry', error, errors: [error], placements: [] } : { kind: 'dead-letter', error };
      if (!mesh) return retryOrDeadLetter(unavailable!);
      const ids = message.messageId === undefined ? {} : { eventId: String(message.messageId) };
      let envelope: Envelope;
      try {
        envelope = decodeServiceBusMessage(fromReceivedMessage(message, where), mesh.config.sources);
      } catch (err) {
        return retryOrDeadLetter(retriedOnce(toMeshError(err, ids), deliveryCount));
      }
      let outcome: EventOutcome;
      try {
        outcome = await mesh.pipeline.process(envelope);
      } catch (err) {
        // The pipeline settles every route itself; what still escapes it is the function's trouble, not the event's.
        return retryOrDeadLetter(EdgeUnavailableError.from(err, 'the pipeline failed outside its routes', ids));
      }
      return verdictOf(outcome, deliveryCount, deps.maxDeliveryCount);
    }

    async function settle(v: Verdict, message: TriggerMessage, i: number): Promise<void> {
      const messageId = message.messageId === undefined ? `#${i}` : String(message.messageId);
      const deliveryCount = message.deliveryCount ?? 1;
      let step = 'complete';
      try {
        if (v.kind === 'done') return await batch.actions.complete(message);
        const fields = { messageId, deliveryCount, code: v.error.code, routeId: v.error.context.routeId, error: v.error.message };
        if (v.kind === 'dead-letter') {
          step = 'dead-letter';
          await batch.actions.deadletter(message, undefined, v.error.code, describeError(v.error));
          context.error('message dead-lettered', fields);
          return;
        }
        const spacing = spacingFor(v.errors, v.placements, deliveryCount, {
          maxMs: deps.maxRetryWaitMs,
          now,
          ...(deps.random ? { random: deps.random } : {}),
        });
        step = 'renew the lock of';
        const held = await hold(message, spacing, batch.actions, started);
        step = 'abandon';
        await batch.actions.abandon(message);
        context.warn('message abandoned: it will be delivered again', { ...fields, heldMs: held, spacing: spacing.why });
      } catch (err) {
        // The lock is lost or the host is gone: Service Bus delivers the message again when
        // its lock expires, and the routes already done come back as duplicates.
        context.error(`could not ${step} the message; it will be delivered again when its lock expires`, {
          messageId,
          verdict: v.kind,
          ...(v.kind === 'done' ? {} : { code: v.error.code, reason: v.error.message }),
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  };

  /**
   * Renew a message's lock every slice while its pipeline runs (the host renews locks by itself
   * only for functions that take one message at a time). A failed renewal is logged: the lock
   * may be lost, and fencing keeps a redelivery from publishing twice. Returns the stop.
   */
  function keepLocked(message: TriggerMessage, actions: SettlementActions, context: InvocationContext): () => void {
    const renew = actions.renewMessageLock?.bind(actions);
    if (!renew) return () => {};
    const timer = setInterval(() => {
      renew(message).catch((err: unknown) =>
        context.warn('could not renew the lock of a message still being processed; it may be delivered again', {
          messageId: message.messageId === undefined ? undefined : String(message.messageId),
          error: err instanceof Error ? err.message : String(err),
        }),
      );
    }, slice);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Wait `spacing.ms` while keeping the message locked, renewing the lock before each slice.
   * Without a renew action the wait ends before the lock the host took does.
   */
  async function hold(message: TriggerMessage, spacing: Spacing, actions: SettlementActions, started: number): Promise<number> {
    const renew = actions.renewMessageLock?.bind(actions);
    let left = renew ? spacing.ms : Math.min(spacing.ms, slice - (now() - started));
    let held = 0;
    while (left > 0) {
      if (renew) await renew(message);
      const step = Math.min(left, slice);
      await sleep(step);
      left -= step;
      held += step;
    }
    return held;
  }
}

function verdictOf(outcome: EventOutcome, deliveryCount: number, maxDeliveryCount: number): Verdict {
  const failed = outcome.routes.filter((r) => r.status === 'failed' && r.error).map((r) => ({ ...r, error: retriedOnce(r.error!, deliveryCount) }));
  const permanent = failed.find((r) => !r.error.retryable);
  if (permanent) return { kind: 'dead-letter', error: permanent.error };
  const held = outcome.routes.find((r) => r.status === 'in-progress');
  const error =
    failed[0]?.error ??
    (held && new DeliveryInProgressError(`route ${held.routeId} is being processed by another delivery of event ${outcome.eventId}`, { context: { routeId: held.routeId, eventId: outcome.eventId } }));
  if (!error) return { kind: 'done' };
  if (deliveryCount >= maxDeliveryCount) return { kind: 'dead-letter', error };
  return { kind: 'retry', error, errors: failed.map((r) => r.error), placements: failed.map((r) => r.placement) };
}

/**
 * An unclassified failure (`Internal`) gets one more delivery, as InternalError promises: it
 * may be a passing fault nobody translated yet. From the second delivery on it is permanent.
 */
function retriedOnce(error: MeshError, deliveryCount: number): MeshError {
  if (error.code !== 'Internal' || error.retryable || deliveryCount > 1) return error;
  return EdgeUnavailableError.from(error, 'an unclassified failure, given one more delivery', error.context);
}

/** `[ticket-triage] every allowed endpoint failed …` — what an on-call engineer reads in the dead-letter queue. */
function describeError(error: MeshError): string {
  const route = error.context.routeId ? `[${String(error.context.routeId)}] ` : '';
  const infra = INFRASTRUCTURE.has(error.code) ? 'not processed: the function or its store failed, not the event; replay it once fixed: ' : '';
  return `${route}${infra}${error.message}`.slice(0, 1024);
}
