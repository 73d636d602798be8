import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { MeshError, type Envelope, type SourceLocation } from '../../core/index.ts';
import { decodeServiceBusMessage } from './codec.ts';
import { createServiceBusClient, parseEntityPath, resolveServiceBusConnection } from './connect.ts';
import { fromReceivedMessage } from './encode.ts';

/** One message read from a dead-letter subqueue, held under its lock until completed or abandoned. */
export interface ServiceBusDeadLetter {
  messageId: string;
  sequenceNumber: string;
  /** The failed event, decoded as the function decodes it; absent when the message cannot be read (see `problem`). */
  envelope?: Envelope;
  problem?: string;
  /** What the function (or the broker: `MaxDeliveryCountExceeded`) gave as the reason: the mesh error code. */
  reason?: string;
  /** The mesh error's message. */
  description?: string;
  deliveryCount?: number;
  enqueuedAt?: string;
  /** The SDK message, for settling. */
  readonly handle: ServiceBusReceivedMessage;
}

export interface ServiceBusDeadLetterReaderOptions {
  namespace: string;
  /** A queue (`tickets`) or a subscription (`orders/Subscriptions/risk`). */
  entity: string;
  /** mesh.yaml `sources`, so decoded events get their origin region as the function gave them. */
  sources?: Record<string, SourceLocation>;
  /** Default: the namespace's connection from the environment (resolveServiceBusConnection). */
  client?: ServiceBusClient;
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads `<entity>/$DeadLetterQueue` for `mesh failed` / `mesh replay --source servicebus:<entity>`:
 * receive in peek-lock (nothing leaves the queue by reading), `complete` a message only after
 * its replay succeeded, `abandon` it otherwise so it stays for the next engineer. A process
 * that dies half way loses nothing: its locks expire and the messages are there again.
 *
 * @example
 * const reader = new ServiceBusDeadLetterReader({ namespace: 'acme-support', entity: 'tickets' });
 * for (const letter of await reader.receive(10)) {
 *   if (letter.envelope && (await replay(letter.envelope))) await reader.complete(letter);
 *   else await reader.abandon(letter);
 * }
 * await reader.close();
 */
export class ServiceBusDeadLetterReader {
  private receiver: Promise<ServiceBusReceiver> | undefined;
  private ownClient: ServiceBusClient | undefined;

  constructor(private readonly opts: ServiceBusDeadLetterReaderOptions) {}

  /** Up to `max` dead letters, waiting at most `maxWaitTimeInMs` for the first. */
  async receive(max: number, maxWaitTimeInMs = 2_000): Promise<ServiceBusDeadLetter[]> {
    const receiver = await this.open();
    const messages = await receiver.receiveMessages(max, { maxWaitTimeInMs });
    return messages.map((m) => this.read(m));
  }

  /**
   * Up to `max` dead letters by browsing (peek): no lock is taken, the delivery count stays,
   * and messages another consumer holds are listed too. For listing and showing, not settling.
   */
  async peek(max: number): Promise<ServiceBusDeadLetter[]> {
    const receiver = await this.open();
    const letters: ServiceBusDeadLetter[] = [];
    // The receiver continues each peek after the last message it peeked.
    while (letters.length < max) {
      const batch = await receiver.peekMessages(Math.min(100, max - letters.length));
      if (batch.length === 0) break;
      letters.push(...batch.map((m) => this.read(m)));
    }
    return letters;
  }

  async complete(letter: ServiceBusDeadLetter): Promise<void> {
    await (await this.open()).completeMessage(letter.handle);
  }

  /** Unlock at once, so the message can be read again (its delivery count goes up). */
  async abandon(letter: ServiceBusDeadLetter): Promise<void> {
    await (await this.open()).abandonMessage(letter.handle);
  }

  async close(): Promise<void> {
    if (this.receiver) await (await this.receiver).close();
    await this.ownClient?.close();
  }

  private open(): Promise<ServiceBusReceiver> {
    this.receiver ??= (async () => {
      let client = this.opts.client;
      if (!client) {
        client = this.ownClient = await createServiceBusClient(resolveServiceBusConnection(this.opts.namespace, this.opts.env ?? process.env));
      }
      const { queueOrTopic, subscription } = parseEntityPath(this.opts.entity);
      const options = { receiveMode: 'peekLock', subQueueType: 'deadLetter' } as const;
      return subscription === undefined ? client.createReceiver(queueOrTopic, options) : client.createReceiver(queueOrTopic, subscription, options);
    })();
    return this.receiver;
  }

  private read(m: ServiceBusReceivedMessage): ServiceBusDeadLetter {
    const base = {
      messageId: String(m.messageId ?? ''),
      sequenceNumber: m.sequenceNumber?.toString() ?? '',
      ...(m.deadLetterReason === undefined ? {} : { reason: m.deadLetterReason }),
      ...(m.deadLetterErrorDescription === undefined ? {} : { description: m.deadLetterErrorDescription }),
      ...(m.deliveryCount === undefined ? {} : { deliveryCount: m.deliveryCount }),
      ...(m.enqueuedTimeUtc === undefined ? {} : { enqueuedAt: m.enqueuedTimeUtc.toISOString() }),
      handle: m,
    };
    try {
      // The dead-letter annotations are the broker's, not the event's: keep them out of the decoded event.
      const { DeadLetterReason: _r, DeadLetterErrorDescription: _d, ...props } = m.applicationProperties ?? {};
      const like = fromReceivedMessage({ ...m, applicationProperties: props }, { namespace: this.opts.namespace, entity: this.opts.entity });
      return { ...base, envelope: decodeServiceBusMessage(like, this.opts.sources ?? {}) };
    } catch (err) {
      if (err instanceof MeshError) return { ...base, problem: err.message };
      throw err;
    }
  }
}
