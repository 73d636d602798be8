/** One message received from a dead-letter queue, held invisible until deleted or released. */
export interface ReceivedMessage {
  messageId: string;
  /** Valid for this receive only: the handle to delete, hold or release it with. */
  receiptHandle: string;
  body: string;
  /** How many times the message has been received (this receive included). */
  receiveCount?: number;
  /** When the queue first received it (ISO 8601). */
  sentAt?: string;
  /** String message attributes (a Lambda DLQ's ErrorMessage, …). */
  attributes: Record<string, string>;
}

/**
 * A dead-letter queue as the on-call commands use it: receive without deleting, delete only
 * after a successful replay, and release (visible again at once) otherwise.
 */
export interface DeadLetterQueue {
  /** A name for messages and ids (the queue URL). */
  readonly name: string;
  /** Up to `max` (≤ 10) messages, hidden from other consumers for `visibilitySeconds`. */
  receive(max: number, visibilitySeconds: number): Promise<ReceivedMessage[]>;
  /** Keep a received message hidden for `seconds` more (while its replay runs). */
  hold(receiptHandle: string, seconds: number): Promise<void>;
  /** Make a received message visible again at once. */
  release(receiptHandle: string): Promise<void>;
  delete(receiptHandle: string): Promise<void>;
  close(): void;
}
