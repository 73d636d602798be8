import { describe, expect, it } from 'vitest';
import { drainDeadLetters, peekDeadLetters, receiveAll, SourceUnreachableError, type DeadLetterQueue, type ReceivedMessage } from '../../../shared/buses/index.ts';

const event = (id: string) =>
  JSON.stringify({ version: '0', id, 'detail-type': 'OrderPlaced', source: 'com.acme.orders', account: '1', time: '2026-03-02T09:14:05Z', region: 'us-east-1', resources: [], detail: {} });

/** A queue port that logs every call in order, so the tests can read the sequence. */
function scriptedQueue(bodies: string[], { failDelete = false } = {}): DeadLetterQueue & { log: string[]; visible: () => number } {
  const messages = bodies.map((body, i) => ({ messageId: `m${i + 1}`, body, hidden: false, receipts: 0 }));
  const log: string[] = [];
  return {
    name: 'q',
    log,
    visible: () => messages.filter((m) => !m.hidden).length,
    receive: (max) => {
      const batch = messages.filter((m) => !m.hidden).slice(0, max);
      log.push(`receive ${batch.length}`);
      return Promise.resolve(
        batch.map((m): ReceivedMessage => {
          m.hidden = true;
          return { messageId: m.messageId, receiptHandle: `${m.messageId}#${++m.receipts}`, body: m.body, attributes: {} };
        }),
      );
    },
    hold: (h) => (log.push(`hold ${h}`), Promise.resolve()),
    release: (h) => {
      log.push(`release ${h}`);
      messages.find((m) => h.startsWith(`${m.messageId}#`))!.hidden = false;
      return Promise.resolve();
    },
    delete: (h) => {
      log.push(`delete ${h}`);
      if (failDelete) return Promise.reject(new SourceUnreachableError('SQS went away'));
      messages.splice(messages.findIndex((m) => h.startsWith(`${m.messageId}#`)), 1);
      return Promise.resolve();
    },
    close: () => {},
  };
}

describe('peekDeadLetters', () => {
  it('receives every message in batches of at most 10, then makes each visible again', async () => {
    const queue = scriptedQueue(Array.from({ length: 12 }, (_, i) => event(`e${i}`)));
    const entries = await peekDeadLetters(queue);
    expect(entries.map((e) => e.letter?.envelope.event.id)).toEqual(Array.from({ length: 12 }, (_, i) => `e${i}`));
    expect(queue.log.filter((l) => l.startsWith('receive'))).toEqual(['receive 10', 'receive 2', 'receive 0']);
    expect(queue.log.some((l) => l.startsWith('delete'))).toBe(false);
    expect(queue.visible()).toBe(12);
  });

  it('stops at the limit and keeps an unreadable message with the reason', async () => {
    const queue = scriptedQueue(['{oops', event('e1'), event('e2')]);
    const entries = await receiveAll(queue, { limit: 2, visibilitySeconds: 30 });
    expect(entries).toHaveLength(2);
    expect(entries[0]!.problem).toMatch(/^message body: not valid JSON/);
  });
});

describe('drainDeadLetters', () => {
  it('deletes a message only after its replay settled it, and releases one that failed again', async () => {
    const queue = scriptedQueue([event('ok'), event('bad')]);
    const entries = await receiveAll(queue, { visibilitySeconds: 300 });
    await drainDeadLetters(queue, entries, {
      holdSeconds: 300,
      replay: (e) => {
        queue.log.push(`replay ${e.letter!.envelope.event.id}`);
        return Promise.resolve(e.letter!.envelope.event.id === 'ok');
      },
    });
    expect(queue.log.slice(-6)).toEqual(['hold m1#1', 'replay ok', 'delete m1#1', 'hold m2#1', 'replay bad', 'release m2#1']);
    expect(queue.visible()).toBe(1);
  });

  it('releases every message not yet settled when a replay throws half way', async () => {
    const queue = scriptedQueue([event('a'), event('b'), event('c')]);
    const entries = await receiveAll(queue, { visibilitySeconds: 300 });
    const run = drainDeadLetters(queue, entries, {
      holdSeconds: 300,
      replay: (e) => (e.letter!.envelope.event.id === 'b' ? Promise.reject(new Error('store went away')) : Promise.resolve(true)),
    });
    await expect(run).rejects.toThrow('store went away');
    expect(queue.log.filter((l) => l.startsWith('delete') || l.startsWith('release'))).toEqual(['delete m1#1', 'release m2#1', 'release m3#1']);
    expect(queue.visible()).toBe(2);
  });

  it('reports a delete that failed instead of hiding it', async () => {
    const queue = scriptedQueue([event('a')], { failDelete: true });
    const entries = await receiveAll(queue, { visibilitySeconds: 300 });
    const settled: string[] = [];
    await drainDeadLetters(queue, entries, { holdSeconds: 300, replay: () => Promise.resolve(true), onSettled: (_e, action, err) => settled.push(`${action}: ${err?.message ?? ''}`) });
    expect(settled).toEqual(['delete-failed: SQS went away']);
  });
});
