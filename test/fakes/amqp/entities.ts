import { randomUUID } from 'node:crypto';
import type { Message } from 'rhea';

/** One message held by the peer, with the broker state Service Bus keeps beside it. */
export interface StoredMessage {
  sequenceNumber: number;
  enqueuedAt: number;
  /** Deliveries so far (the SDK's `deliveryCount` after the next one is this + 1). */
  deliveryCount: number;
  /** The message as the client sent it (bare message: properties, application properties, body). */
  message: Message;
  lockToken?: string;
  lockedUntil?: number;
  /** Where a dead-lettered message came from, and why (Service Bus puts the why in application properties). */
  deadLetterSource?: string;
}

const DLQ = '/$deadletterqueue';

/** `Tickets/$DeadLetterQueue` and `tickets/$deadletterqueue` name the same entity, as on Service Bus. */
export function normalizeAddress(address: string): string {
  return address.replace(/^\/+/, '').toLowerCase();
}

export function isDeadLetterAddress(address: string): boolean {
  return normalizeAddress(address).endsWith(DLQ);
}

/**
 * The peer's queues: an entity is a queue or a topic subscription
 * (`<topic>/subscriptions/<sub>`), each with its dead-letter subqueue.
 * Sending to a topic copies the message to every subscription, like the broker.
 */
export class Entities {
  private readonly queues = new Map<string, StoredMessage[]>();
  private readonly topics = new Map<string, string[]>();
  private sequence = 0;
  /** Told when an address gains available messages, so its consumers can be fed. */
  onAvailable: (address: string) => void = () => {};

  constructor(
    readonly lockDurationMs: number,
    readonly maxDeliveryCount = 10,
  ) {}

  addSubscription(topic: string, subscription: string): void {
    const t = normalizeAddress(topic);
    const subs = this.topics.get(t) ?? [];
    subs.push(normalizeAddress(`${t}/subscriptions/${subscription}`));
    this.topics.set(t, subs);
  }

  queue(address: string): StoredMessage[] {
    const key = normalizeAddress(address);
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    return q;
  }

  enqueue(address: string, message: Message): void {
    const key = normalizeAddress(address);
    const targets = this.topics.get(key) ?? [key];
    for (const target of targets) {
      this.queue(target).push({ sequenceNumber: ++this.sequence, enqueuedAt: Date.now(), deliveryCount: 0, message: { ...message } });
      this.onAvailable(target);
    }
  }

  /**
   * The next message a peek-lock consumer may take: unlocked, or whose lock expired. As the
   * broker does, a message whose lock expired on its last allowed delivery is dead-lettered
   * (MaxDeliveryCountExceeded) instead: not settling counts as a delivery like abandoning does.
   */
  nextAvailable(address: string): StoredMessage | undefined {
    const now = Date.now();
    for (;;) {
      const found = this.queue(address).find((m) => m.lockToken === undefined || (m.lockedUntil ?? 0) <= now);
      // Service Bus does not apply MaxDeliveryCount to a dead-letter subqueue: its messages stay until completed.
      if (!found || found.lockToken === undefined || found.deliveryCount < this.maxDeliveryCount || isDeadLetterQueue(address)) return found;
      this.deadLetter(address, found, 'MaxDeliveryCountExceeded', `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`);
    }
  }

  lock(stored: StoredMessage): void {
    stored.lockToken = randomUUID();
    stored.lockedUntil = Date.now() + this.lockDurationMs;
    stored.deliveryCount++;
  }

  remove(address: string, stored: StoredMessage): void {
    delete stored.lockToken;
    const q = this.queue(address);
    const i = q.indexOf(stored);
    if (i >= 0) q.splice(i, 1);
  }

  findByLockToken(address: string, lockToken: string): StoredMessage | undefined {
    return this.queue(address).find((m) => m.lockToken === lockToken && (m.lockedUntil ?? 0) > Date.now());
  }

  complete(address: string, stored: StoredMessage): void {
    this.remove(address, stored);
  }

  abandon(address: string, stored: StoredMessage): void {
    // As the broker does: a message abandoned on its last allowed delivery goes to the dead-letter
    // subqueue (not one already there: a subqueue has no MaxDeliveryCount).
    if (stored.deliveryCount >= this.maxDeliveryCount && !isDeadLetterQueue(address)) {
      this.deadLetter(address, stored, 'MaxDeliveryCountExceeded', `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`);
      return;
    }
    delete stored.lockToken;
    delete stored.lockedUntil;
    this.onAvailable(normalizeAddress(address));
  }

  /** Move to `<entity>/$deadletterqueue` with the reason in application properties, as Service Bus does. */
  deadLetter(address: string, stored: StoredMessage, reason: unknown, description: unknown): void {
    this.remove(address, stored);
    const dlq = `${normalizeAddress(address)}${DLQ}`;
    const message: Message = { ...stored.message };
    message.application_properties = {
      ...(message.application_properties ?? {}),
      ...(reason === undefined ? {} : { DeadLetterReason: reason }),
      ...(description === undefined ? {} : { DeadLetterErrorDescription: description }),
    };
    this.queue(dlq).push({
      sequenceNumber: stored.sequenceNumber,
      enqueuedAt: stored.enqueuedAt,
      deliveryCount: stored.deliveryCount,
      message,
      deadLetterSource: normalizeAddress(address),
    });
    this.onAvailable(dlq);
  }
}

function isDeadLetterQueue(address: string): boolean {
  return normalizeAddress(address).endsWith(DLQ);
}
