import type { Envelope, SourceLocation } from '../core/index.ts';
import { peekDeadLetters, ServiceBusDeadLetterQueue, type DeadLetterQueue } from '../buses/index.ts';
import { deadLetterView, serviceBusView, type DeadLetterView } from './deadLetterView.ts';

/** The SQS adapter loads on first use, so commands that never read a queue do not load the SDK. */
export async function openDeadLetterQueue(queueUrl: string): Promise<DeadLetterQueue> {
  const { SqsDeadLetterQueue } = await import('../buses/sqs/index.ts');
  return new SqsDeadLetterQueue(queueUrl);
}

/** A Service Bus dead-letter subqueue; `sources` (mesh.yaml) give decoded events their origin region. */
export function openServiceBusDeadLetters(namespace: string, entity: string, sources: Record<string, SourceLocation>): ServiceBusDeadLetterQueue {
  return new ServiceBusDeadLetterQueue({ namespace, entity, sources });
}

/** Browse an SQS dead-letter queue (up to `limit`): every message visible again at once. */
export async function listDeadLetters(queueUrl: string, findRoutes: (e: Envelope) => string[], limit?: number): Promise<DeadLetterView[]> {
  const queue = await openDeadLetterQueue(queueUrl);
  try {
    const entries = await peekDeadLetters(queue, limit === undefined ? {} : { limit });
    return entries.map((e) => deadLetterView(queueUrl, e, findRoutes));
  } finally {
    queue.close();
  }
}

/**
 * Browse the dead letters (up to `limit`) without locking them: listing leaves delivery counts
 * alone and does not get in the way of a replay another engineer is running.
 */
export async function listServiceBusDeadLetters(
  source: { namespace: string; entity: string; label: string },
  finder: { find: (e: Envelope) => string[]; sources: Record<string, SourceLocation> },
  limit?: number,
): Promise<DeadLetterView[]> {
  const queue = openServiceBusDeadLetters(source.namespace, source.entity, finder.sources);
  try {
    const entries = await queue.peekEntries(limit === undefined ? {} : { limit });
    return entries.map((e) => serviceBusView(source.label, e, finder.find));
  } finally {
    await queue.closed();
  }
}

