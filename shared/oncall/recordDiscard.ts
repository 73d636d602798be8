import type { Envelope, FailureLedger, FailureRecord } from '../core/index.ts';

/** Who discarded what, and why: kept in the ledger's history. */
export interface Discard {
  actor: string;
  reason: string;
  at?: Date;
}

/**
 * Record that a failure must never run: the record is closed and its history says who
 * discarded it, when and why (as a replay entry: `not-replayed`, `discarded: <reason>`,
 * options `{ discarded: 'true', reason }`). Returns false when there is no such failure.
 *
 * @example
 * await discardFailure(store.failures, failureId, { actor: 'ana', reason: 'test order from the load test' });
 */
export async function discardFailure(ledger: FailureLedger, id: string, discard: Discard): Promise<boolean> {
  const record = await ledger.getFailure(id);
  if (!record) return false;
  await ledger.resolveFailure(id);
  await ledger.recordReplay(id, entry(discard));
  return true;
}

/** A dead letter as the ledger keeps its discard: keyed `<source>#<message-id>`, like `mesh failed show` names it. */
export interface DiscardedLetter {
  source: string;
  messageId: string;
  /** The event, when the message could be read; otherwise `body` is kept. */
  envelope?: Envelope;
  body?: string;
  errorCode: string;
  message: string;
  routeId?: string;
}

/**
 * Keep the discard of a cloud dead letter in the local ledger before the message is removed,
 * so the next engineer finds who removed it and why (`mesh failed show <source>#<message-id>`).
 */
export async function recordDiscardedLetter(ledger: FailureLedger, letter: DiscardedLetter, discard: Discard): Promise<string> {
  const id = `${letter.source}#${letter.messageId}`;
  const at = (discard.at ?? new Date()).toISOString();
  const record: FailureRecord = {
    id,
    at,
    eventId: letter.envelope?.event.id ?? letter.messageId,
    ...(letter.routeId ? { routeId: letter.routeId } : {}),
    errorCode: letter.errorCode,
    message: `${letter.message} (dead letter ${letter.messageId} in ${letter.source})`,
    retryable: false,
    attempts: [],
    envelope: letter.envelope ?? unreadable(letter),
    status: 'open',
    failures: 1,
  };
  await ledger.recordFailure(record);
  await ledger.resolveFailure(id);
  await ledger.recordReplay(id, entry(discard));
  return id;
}

function entry(discard: Discard) {
  return {
    at: (discard.at ?? new Date()).toISOString(),
    actor: discard.actor,
    outcome: 'not-replayed' as const,
    detail: `discarded: ${discard.reason}`,
    options: { discarded: 'true', reason: discard.reason },
  };
}

/** A message that was not an event we can read is kept as it was, as the data of a placeholder. */
function unreadable(letter: DiscardedLetter): Envelope {
  return {
    event: { specversion: '1.0', id: letter.messageId, source: letter.source, type: 'nearmesh.unreadable-dead-letter', data: letter.body ?? null, extensions: {} },
    origin: { transport: letter.source.startsWith('servicebus:') ? 'servicebus' : 'eventbridge' },
  };
}
