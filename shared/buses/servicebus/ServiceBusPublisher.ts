import type { ServiceBusClient, ServiceBusMessage, ServiceBusMessageBatch, ServiceBusSender } from '@azure/service-bus';
import {
  MeshError,
  PayloadTooLargeError,
  PublishFailedError,
  silentLogger,
  type Destination,
  type Envelope,
  type Logger,
  type Publisher,
  type PublishOutcome,
} from '../../core/index.ts';
import { createServiceBusClient, resolveServiceBusConnection } from './connect.ts';
import { encodeServiceBusMessage } from './encode.ts';
import { errorSummary, redact } from '../../models/redact.ts';

/** Service Bus refused the send for good (entity missing, not authorised): sending again will not help. */
export class ServiceBusRejectedError extends MeshError {
  override readonly name = 'ServiceBusRejectedError';
  readonly code = 'PublishRejected';
  readonly retryable = false;
}

/** SDK error codes that say the send cannot succeed later either. */
const PERMANENT = new Set(['MessagingEntityNotFound', 'MessagingEntityDisabled', 'UnauthorizedAccess', 'MessageSizeExceeded', 'InvalidOperation']);

export interface ServiceBusPublisherOptions {
  /** The client of a namespace. Default: resolveServiceBusConnection + createServiceBusClient. */
  client?: (namespace: string) => Promise<ServiceBusClient>;
  env?: NodeJS.ProcessEnv;
  /** The function's own namespace, whose trigger connection may be reused. */
  homeNamespace?: string;
  logger?: Logger;
}

/**
 * Publishes results to Service Bus queues and topics with `@azure/service-bus` senders, one
 * client per namespace and one sender per entity, kept for the life of the process. Results
 * go in batches made by `createMessageBatch` (sized by the link's limit); `messageId` is the
 * result id, so duplicate detection drops a retry's second send, `correlationId` the input's
 * correlation and `subject` the event type. A result too large for an empty batch fails
 * alone with PayloadTooLargeError.
 *
 * @example
 * const publisher = new ServiceBusPublisher({ homeNamespace: 'acme-support' });
 * await publisher.publish({ name: 'support-topic', kind: 'servicebus', namespace: 'acme-support', entity: 'tickets-triaged' }, [result]);
 */
export class ServiceBusPublisher implements Publisher {
  private readonly clients = new Map<string, Promise<ServiceBusClient>>();
  private readonly senders = new Map<string, ServiceBusSender>();
  private readonly logger: Logger;

  constructor(private readonly opts: ServiceBusPublisherOptions = {}) {
    this.logger = opts.logger ?? silentLogger;
  }

  async publish(destination: Destination, events: Envelope[]): Promise<PublishOutcome[]> {
    const { namespace, entity } = destination;
    if (!namespace || !entity) {
      const error = new ServiceBusRejectedError(`destination ${destination.name}: a Service Bus destination needs namespace and entity`, { context: { destination: destination.name } });
      return events.map((e) => ({ id: e.event.id, ok: false as const, error }));
    }
    const outcomes = new Map<string, PublishOutcome>();
    let pending: { id: string; message: ServiceBusMessage }[] = [];
    try {
      const sender = await this.sender(namespace, entity);
      let batch = await sender.createMessageBatch();
      const flush = async () => {
        if (batch.count === 0) return;
        await this.send(sender, batch, pending, destination, outcomes);
        pending = [];
        batch = await sender.createMessageBatch();
      };
      for (const envelope of events) {
        const message = encodeServiceBusMessage(envelope) as ServiceBusMessage;
        if (batch.tryAddMessage(message)) {
          pending.push({ id: envelope.event.id, message });
          continue;
        }
        await flush();
        if (batch.tryAddMessage(message)) {
          pending.push({ id: envelope.event.id, message });
          continue;
        }
        outcomes.set(envelope.event.id, {
          id: envelope.event.id,
          ok: false,
          error: new PayloadTooLargeError(`result ${envelope.event.id} is larger than ${batch.maxSizeInBytes} bytes, the most ${destination.name} accepts in one message`, {
            context: { destination: destination.name, eventId: envelope.event.id },
          }),
        });
      }
      await flush();
    } catch (err) {
      const error = this.toMeshError(err, destination);
      for (const e of events) if (!outcomes.has(e.event.id)) outcomes.set(e.event.id, { id: e.event.id, ok: false, error });
    }
    return events.map((e) => outcomes.get(e.event.id) ?? { id: e.event.id, ok: false, error: new PublishFailedError(`result ${e.event.id} was not sent`) });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.senders.values()].map((s) => s.close()));
    const clients = await Promise.allSettled([...this.clients.values()]);
    await Promise.allSettled(clients.map((c) => (c.status === 'fulfilled' ? c.value.close() : undefined)));
    this.senders.clear();
    this.clients.clear();
  }

  private async send(sender: ServiceBusSender, batch: ServiceBusMessageBatch, pending: { id: string }[], destination: Destination, outcomes: Map<string, PublishOutcome>) {
    try {
      await sender.sendMessages(batch);
      for (const p of pending) outcomes.set(p.id, { id: p.id, ok: true });
      this.logger.info('results sent to Service Bus', { destination: destination.name, count: pending.length });
    } catch (err) {
      const error = this.toMeshError(err, destination);
      for (const p of pending) outcomes.set(p.id, { id: p.id, ok: false, error });
    }
  }

  private async sender(namespace: string, entity: string): Promise<ServiceBusSender> {
    const key = `${namespace.toLowerCase()}/${entity.toLowerCase()}`;
    const known = this.senders.get(key);
    if (known && !known.isClosed) return known;
    const client = await this.client(namespace);
    const sender = client.createSender(entity);
    this.senders.set(key, sender);
    return sender;
  }

  private client(namespace: string): Promise<ServiceBusClient> {
    const key = namespace.toLowerCase();
    let client = this.clients.get(key);
    if (!client) {
      client = this.opts.client
        ? this.opts.client(namespace)
        : createServiceBusClient(resolveServiceBusConnection(namespace, this.opts.env ?? process.env, this.opts.homeNamespace));
      this.clients.set(key, client);
      // A failed connect is not cached: the next publish tries again.
      client.catch(() => this.clients.delete(key));
    }
    return client;
  }

  private toMeshError(err: unknown, destination: Destination): MeshError {
    if (err instanceof MeshError) return err;
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e.code === 'string' ? e.code : 'Unknown';
    const message = `could not send to ${destination.name} (${destination.namespace}/${destination.entity}): ${redact(`${code}: ${typeof e.message === 'string' ? e.message : String(err)}`)}`;
    // A summary, not the SDK error: that one may carry the connection and its key.
    const options = { cause: errorSummary(err), context: { destination: destination.name, serviceBusCode: code } };
    if (code === 'MessageSizeExceeded') return new PayloadTooLargeError(message, options);
    // Not the SDK's own `retryable`: it is false for a refused connection, which the next delivery may well find up.
    if (PERMANENT.has(code)) return new ServiceBusRejectedError(message, options);
    return new PublishFailedError(message, options);
  }
}
