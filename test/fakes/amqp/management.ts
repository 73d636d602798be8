import rhea, { type Message } from 'rhea';
import type { Entities, StoredMessage } from './entities.ts';

/** What a `$management` or `$cbs` request is answered with. */
export interface Reply {
  status: number;
  description?: string;
  body?: unknown;
}

/**
 * Turn a stored message into what a receiver gets: the bare message plus the broker's
 * annotations (`x-opt-sequence-number`, `x-opt-enqueued-time`, `x-opt-locked-until`) and the
 * delivery count in the header.
 */
export function toDelivered(stored: StoredMessage): Message {
  const annotations: Record<string, unknown> = {
    ...(stored.message.message_annotations ?? {}),
    'x-opt-sequence-number': rhea.types.wrap_long(stored.sequenceNumber),
    'x-opt-enqueued-time': rhea.types.wrap_timestamp(stored.enqueuedAt),
  };
  if (stored.lockedUntil !== undefined) annotations['x-opt-locked-until'] = rhea.types.wrap_timestamp(stored.lockedUntil);
  if (stored.deadLetterSource !== undefined) annotations['x-opt-deadletter-source'] = stored.deadLetterSource;
  return { ...stored.message, delivery_count: stored.deliveryCount, message_annotations: annotations };
}

function lockTokens(body: Record<string, unknown>): string[] {
  const raw = body['lock-tokens'];
  const list = Array.isArray(raw) ? raw : [];
  return list.map((t) => (Buffer.isBuffer(t) ? rhea.uuid_to_string(t) : String(t)));
}

/**
 * Answer one management request on `<entity>/$management`: peek, renew-lock and
 * update-disposition (how the SDK settles by lock token). Anything else is 501, so a test
 * using an operation the peer does not know fails loudly rather than hanging.
 */
export function answerManagement(entities: Entities, entity: string, request: Message): Reply {
  const operation = String(request.application_properties?.operation ?? '');
  const body = (request.body ?? {}) as Record<string, unknown>;
  switch (operation) {
    case 'com.microsoft:peek-message': {
      const from = Number(body['from-sequence-number'] ?? 0);
      const count = Number(body['message-count'] ?? 1);
      const found = entities
        .queue(entity)
        .filter((m) => m.sequenceNumber >= from)
        .slice(0, count);
      if (found.length === 0) return { status: 204, description: 'no messages' };
      return { status: 200, body: { messages: found.map((m) => ({ message: rhea.message.encode(toDelivered({ ...m, lockedUntil: undefined } as StoredMessage)) })) } };
    }
    case 'com.microsoft:renew-lock': {
      const expirations: Date[] = [];
      for (const token of lockTokens(body)) {
        const stored = entities.findByLockToken(entity, token);
        if (!stored) return { status: 410, description: `lock ${token} lost` };
        stored.lockedUntil = Date.now() + entities.lockDurationMs;
        expirations.push(new Date(stored.lockedUntil));
      }
      return { status: 200, body: { expirations } };
    }
    case 'com.microsoft:update-disposition': {
      const status = String(body['disposition-status'] ?? '');
      for (const token of lockTokens(body)) {
        const stored = entities.findByLockToken(entity, token);
        if (!stored) return { status: 410, description: `lock ${token} lost` };
        if (status === 'completed') entities.complete(entity, stored);
        else if (status === 'abandoned') entities.abandon(entity, stored);
        else if (status === 'suspended') entities.deadLetter(entity, stored, body['deadletter-reason'], body['deadletter-description']);
        else return { status: 501, description: `disposition ${status} is not supported by the test peer` };
      }
      return { status: 200, body: {} };
    }
    default:
      return { status: 501, description: `operation ${operation} is not supported by the test peer` };
  }
}
