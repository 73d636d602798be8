import { failureId, type Envelope, type FailureRecord } from '../core/index.ts';

/** What a replay needs to know about a dead letter, whatever queue held it. */
export interface LetterFacts {
  envelope: Envelope;
  errorCode: string;
  reason: string;
  at?: string;
  attempts?: number;
}

/** Where a dead letter sits: its source label (`sqs:<url>`, `servicebus:<ns>/<entity>`) and message id. */
export interface LetterPlace {
  source: string;
  messageId: string;
}

/**
 * The ledger record of a dead letter on one route, keyed like the pipeline's
 * (`failureId(route, event)`), so a replay's history and the pipeline's own failures meet.
 *
 * @example
 * deadLetterFailure({ source: 'sqs:https://…/on-event-dlq', messageId: 'm-1' }, letter, 'order-risk').id === failureId('order-risk', letter.envelope.event.id)
 */
export function deadLetterFailure(place: LetterPlace, letter: LetterFacts, routeId: string): FailureRecord {
  const eventId = letter.envelope.event.id;
  return {
    id: failureId(routeId, eventId),
    at: letter.at ?? new Date().toISOString(),
    eventId,
    routeId,
    errorCode: letter.errorCode,
    message: `${letter.reason} (dead letter ${place.messageId} in ${place.source})`,
    retryable: true,
    attempts: [],
    envelope: letter.envelope,
    status: 'open',
    failures: letter.attempts ?? 1,
  };
}
