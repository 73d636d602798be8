import { MeshError, type Envelope } from '../../core/index.ts';
import { errorSummary, redact } from '../../models/redact.ts';
import { SourceAccessDeniedError, SourceNotFoundError, SourceRequestError, SourceUnreachableError } from '../sqs/awsSourceErrors.ts';
import type { DeadLetterQueue, ReceivedMessage } from '../sqs/DeadLetterQueue.ts';
import type { DeadLetterEntry } from '../sqs/drainDeadLetters.ts';
import { ServiceBusDeadLetterReader, type ServiceBusDeadLetter, type ServiceBusDeadLetterReaderOptions } from './ServiceBusDeadLetterReader.ts';

/** A dead letter received from a Service Bus subqueue, in the shape the SQS flow settles. */
export interface ServiceBusDeadLetterEntry extends DeadLetterEntry {
  /** What the reader made of it: the decoded event (or `problem`), DeadLetterReason and description. */
  serviceBus: ServiceBusDeadLetter;
}

export interface ServiceBusDeadLetterQueueOptions extends ServiceBusDeadLetterReaderOptions {
  /** How long a receive waits for the first message when the subqueue looks empty. Default 2 s. */
  waitMs?: number;
  /** For tests: the reader to wrap. */
  reader?: Pick<ServiceBusDeadLetterReader, 'receive' | 'peek' | 'complete' | 'abandon' | 'close'>;
}

/**
 * A Service Bus dead-letter subqueue (`<entity>/$DeadLetterQueue`) behind the same
 * DeadLetterQueue interface as SQS, so `drainDeadLetters` settles it: `delete` completes a
 * message (only called after its replay settled it), `release` abandons it.
 *
 * Locks: peek-lock locks last the entity's LockDuration (60 s by default); the SDK renews each
 * received message's lock for up to 5 minutes after it was received, so `hold` has nothing to
 * do. A replay run longer than that can lose a lock: the complete then fails (reported as
 * "delete failed"), the message is back in the subqueue, and the next replay finds its event
 * already done and completes it — nothing lost or duplicated. Keep runs short with --limit.
 *
 * @example
 * const dlq = new ServiceBusDeadLetterQueue({ namespace: 'acme-support', entity: 'tickets' });
 * const entries = await receiveServiceBusDeadLetters(dlq, { limit: 100 });
 * // … replay each, then dlq.delete(entry.message.receiptHandle) after a success …
 * await releaseAll(dlq, entries); // the rest are abandoned: nothing else leaves the subqueue
 * dlq.close();
 * // Listing only: await dlq.peekEntries({ limit: 100 }) locks nothing.
 */
export class ServiceBusDeadLetterQueue implements DeadLetterQueue {
  readonly name: string;
  private readonly reader: NonNullable<ServiceBusDeadLetterQueueOptions['reader']>;
  private readonly waitMs: number;
  /** Received and not yet settled, by lock token (the receipt handle). */
  private readonly held = new Map<string, ServiceBusDeadLetter>();
  private closing: Promise<void> | undefined;

  constructor(options: ServiceBusDeadLetterQueueOptions) {
    const { reader, waitMs, ...readerOptions } = options;
    this.name = `${options.namespace}/${options.entity}`;
    this.reader = reader ?? new ServiceBusDeadLetterReader(readerOptions);
    this.waitMs = waitMs ?? 2_000;
  }

  /** Up to `max` messages under peek-lock; the lock duration is the entity's, not `visibilitySeconds`. */
  async receive(max: number, _visibilitySeconds: number): Promise<ReceivedMessage[]> {
    return (await this.receiveLetters(max)).map((l) => toReceived(l));
  }

  /** As `receive`, keeping what the reader decoded. */
  async receiveLetters(max: number): Promise<ServiceBusDeadLetter[]> {
    const letters = await this.call('receive from', () => this.reader.receive(Math.max(1, max), this.waitMs));
    for (const l of letters) this.held.set(lockToken(l), l);
    return letters;
  }

  /** Up to `limit` (default 1000) dead letters by browsing: nothing locked, counted or settled (listing, showing). */
  async peekEntries({ limit = 1000 }: { limit?: number } = {}): Promise<ServiceBusDeadLetterEntry[]> {
    return (await this.call('peek into', () => this.reader.peek(limit))).map(toEntry);
  }

  /** The SDK renews the lock itself (see the class comment); a lock already lost shows at complete. */
  async hold(_receiptHandle: string, _seconds: number): Promise<void> {}

  async release(receiptHandle: string): Promise<void> {
    const letter = this.take(receiptHandle);
    if (letter) await this.call('abandon a message in', () => this.reader.abandon(letter));
  }

  async delete(receiptHandle: string): Promise<void> {
    const letter = this.take(receiptHandle);
    if (!letter) throw new SourceRequestError(`no dead letter held with lock ${receiptHandle} in ${this.name}`);
    await this.call('complete a message in', () => this.reader.complete(letter));
  }

  /** Closing abandons nothing: locks still held expire, and the messages are there again. */
  close(): void {
    this.closing ??= this.reader.close().catch(() => undefined);
  }

  /** Wait for the connection to close (the CLI exits cleanly once it has). */
  async closed(): Promise<void> {
    this.close();
    await this.closing;
  }

  /** SDK errors become Source… MeshErrors (drainDeadLetters reports those per message). */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw serviceBusSourceError(err, `${what} ${this.name}/$DeadLetterQueue`);
    }
  }

  private take(receiptHandle: string): ServiceBusDeadLetter | undefined {
    const letter = this.held.get(receiptHandle);
    this.held.delete(receiptHandle);
    return letter;
  }
}

/**
 * Receive every dead letter of the subqueue (up to `limit`, default 1000), each locked until
 * completed or abandoned. Locked messages are not delivered twice, so the loop ends when the
 * subqueue has nothing unlocked left.
 */
export async function receiveServiceBusDeadLetters(queue: ServiceBusDeadLetterQueue, { limit = 1000 }: { limit?: number } = {}): Promise<ServiceBusDeadLetterEntry[]> {
  const seen = new Map<string, ServiceBusDeadLetterEntry>();
  while (seen.size < limit) {
    const batch = await queue.receiveLetters(Math.min(10, limit - seen.size));
    if (batch.length === 0) break;
    let fresh = 0;
    for (const letter of batch) {
      const key = letter.sequenceNumber || letter.messageId;
      const earlier = seen.get(key);
      // Delivered again (its lock ran out): only the newer lock settles it.
      if (earlier) {
        earlier.message = toReceived(letter);
        earlier.serviceBus = letter;
        continue;
      }
      fresh++;
      seen.set(key, toEntry(letter));
    }
    if (fresh === 0) break;
  }
  return [...seen.values()];
}

/** One page of up to `max` dead letters, each locked until completed or abandoned (the SDK renews locks for 5 min). */
export async function receiveServiceBusPage(queue: ServiceBusDeadLetterQueue, max: number): Promise<ServiceBusDeadLetterEntry[]> {
  return (await queue.receiveLetters(Math.min(10, Math.max(1, max)))).map(toEntry);
}

/** What identifies a Service Bus dead letter across deliveries: its sequence number (else its id). */
export function serviceBusLetterKey(entry: ServiceBusDeadLetterEntry): string {
  return entry.serviceBus.sequenceNumber || entry.serviceBus.messageId;
}

function toEntry(letter: ServiceBusDeadLetter): ServiceBusDeadLetterEntry {
  return { message: toReceived(letter), serviceBus: letter, ...(letter.envelope ? {} : { problem: letter.problem ?? 'unreadable message' }) };
}

function toReceived(letter: ServiceBusDeadLetter): ReceivedMessage {
  return {
    messageId: letter.messageId,
    receiptHandle: lockToken(letter),
    body: bodyText(letter.handle.body),
    ...(letter.deliveryCount === undefined ? {} : { receiveCount: letter.deliveryCount }),
    ...(letter.enqueuedAt === undefined ? {} : { sentAt: letter.enqueuedAt }),
    attributes: {
      ...(letter.reason === undefined ? {} : { DeadLetterReason: letter.reason }),
      ...(letter.description === undefined ? {} : { DeadLetterErrorDescription: letter.description }),
    },
  };
}

function lockToken(letter: ServiceBusDeadLetter): string {
  return letter.handle.lockToken ?? `${letter.sequenceNumber}:${letter.messageId}`;
}

function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  try {
    return JSON.stringify(body) ?? '';
  } catch {
    return String(body);
  }
}

/** The decoded event of an entry, when it could be read. */
export function serviceBusEnvelope(entry: ServiceBusDeadLetterEntry): Envelope | undefined {
  return entry.serviceBus.envelope;
}

/** What to check, by the SDK's ServiceBusError code (or a network error code). */
export function serviceBusSourceError(err: unknown, doing: string): MeshError {
  if (err instanceof MeshError) return err;
  const e = (err ?? {}) as { code?: string; message?: string };
  // What the SDK says can echo a connection string's key or a SAS token: redacted, and never the SDK error itself as cause.
  const why = `Service Bus could not ${doing}: ${redact(e.message ?? String(err))}`;
  const options = { cause: errorSummary(err), context: { source: doing } };
  if (e.code === 'MessagingEntityNotFound') return new SourceNotFoundError(`${why}. Check the namespace and the entity (a queue, or <topic>/Subscriptions/<subscription>).`, options);
  if (e.code === 'UnauthorizedAccess') return new SourceAccessDeniedError(`${why}. The identity needs Listen on the entity (Azure Service Bus Data Receiver).`, options);
  if (e.code === 'MessageLockLost') return new SourceRequestError(`${why}. The lock ran out; the message is in the subqueue again.`, options);
  return new SourceUnreachableError(`${why}. Check MESH_SERVICEBUS_<NAMESPACE>_CONNECTION or your Azure login, and the network.`, options);
}
