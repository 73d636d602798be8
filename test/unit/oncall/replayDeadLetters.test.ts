import { describe, expect, it } from 'vitest';
import type { DeadLetterEntry, DeadLetterQueue, ReceivedMessage } from '../../../shared/buses/index.ts';
import type { FailureRecord, ReplayOutcome } from '../../../shared/core/index.ts';
import { replayDeadLetters, type DeadLetterReader, type LetterView, type ReplayTarget } from '../../../shared/oncall/index.ts';
import { orderEvent } from '../pipeline/fixtures.ts';

/** A DeadLetterQueue port fake with SQS's semantics: receive hides, release shows, delete removes; at most 10 per receive. */
class MemoryQueue implements DeadLetterQueue {
  readonly name = 'memory-dlq';
  readonly receives: number[] = [];
  private readonly messages = new Map<string, { body: string; hidden: boolean }>();

  constructor(count: number) {
    for (let i = 0; i < count; i++) this.messages.set(`m-${String(i).padStart(5, '0')}`, { body: `e-${i}`, hidden: false });
  }

  async receive(max: number): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    for (const [messageId, m] of this.messages) {
      if (out.length >= Math.min(10, max)) break;
      if (m.hidden) continue;
      m.hidden = true;
      out.push({ messageId, receiptHandle: messageId, body: m.body, attributes: {} });
    }
    this.receives.push(out.length);
    return out;
  }
  async hold(): Promise<void> {}
  async release(handle: string): Promise<void> {
    const m = this.messages.get(handle);
    if (m) m.hidden = false;
  }
  async delete(handle: string): Promise<void> {
    this.messages.delete(handle);
  }
  close(): void {}
  get left(): number {
    return this.messages.size;
  }
  get hidden(): number {
    return [...this.messages.values()].filter((m) => m.hidden).length;
  }
}

/** A replay target that succeeds, except for the events in `failing`; records every event it ran. */
function target(failing: Set<string> = new Set(), onRun?: () => void): ReplayTarget & { ran: string[] } {
  const ran: string[] = [];
  return {
    via: 'test',
    ran,
    async replayEvent(failure: FailureRecord): Promise<ReplayOutcome> {
      ran.push(failure.eventId);
      onRun?.();
      await new Promise((r) => setImmediate(r));
      const base = { failureId: failure.id, eventId: failure.eventId, routeId: failure.routeId! };
      return failing.has(failure.eventId) ? { ...base, outcome: 'failed-again', detail: 'ModelUnavailable: 503' } : { ...base, outcome: 'succeeded', detail: 'r' };
    },
    close: async () => {},
  };
}

function run(queue: MemoryQueue, t: ReplayTarget, extra: Partial<Parameters<typeof replayDeadLetters<LetterView>>[0]> = {}) {
  const reader: DeadLetterReader = {
    queue,
    receivePage: async (max) => (await queue.receive(max)).map((message): DeadLetterEntry => ({ message })),
    key: (e) => e.message.messageId,
    partSize: Number.POSITIVE_INFINITY,
  };
  return replayDeadLetters<LetterView>({
    reader,
    target: t,
    view: (e) => ({ source: 'sqs:memory', messageId: e.message.messageId, eventId: e.message.body, routeIds: ['order-risk'] }),
    facts: (e) => ({ envelope: orderEvent(e.message.body), errorCode: 'ModelsExhausted', reason: 'every endpoint failed' }),
    select: () => true,
    selectsAll: true,
    request: { actor: 'ana' },
    holdSeconds: 300,
    maxWaitMs: 0,
    ...extra,
  });
}

describe('replayDeadLetters at scale', () => {
  it('reads the queue in pages of at most 10 and removes each message once its replay succeeded', async () => {
    const queue = new MemoryQueue(1_234);
    const t = target();
    const result = await run(queue, t, { concurrency: 8 });
    expect(queue.receives.every((n) => n <= 10)).toBe(true);
    expect(queue.receives.filter((n) => n > 0)).toHaveLength(124);
    expect(t.ran).toHaveLength(1_234);
    expect(new Set(t.ran).size).toBe(1_234);
    expect(result.outcomes.every((o) => o.settling === 'settled')).toBe(true);
    expect(queue.left).toBe(0);
  });

  it('receives no more than --limit when every message is selected, and leaves the rest untouched', async () => {
    const queue = new MemoryQueue(50);
    const t = target();
    const result = await run(queue, t, { limit: 12 });
    expect(queue.receives).toEqual([10, 2]);
    expect(result.selected).toHaveLength(12);
    expect(queue.left).toBe(38);
    expect(queue.hidden).toBe(0);
  });

  it('keeps a message that failed again held until the end (not received twice), then visible again', async () => {
    const queue = new MemoryQueue(30);
    const t = target(new Set(['e-3', 'e-17']));
    const result = await run(queue, t);
    expect(t.ran).toHaveLength(30);
    expect(result.outcomes.filter((o) => o.settling === 'kept').map((o) => o.messageId)).toEqual(['m-00003', 'm-00017']);
    expect(queue.left).toBe(2);
    expect(queue.hidden).toBe(0);
  });

  it('on interrupt finishes the replays in flight, releases the rest, and a second run resumes to one replay per event', async () => {
    const queue = new MemoryQueue(200);
    const interrupt = new AbortController();
    let n = 0;
    const first = target(new Set(), () => {
      if (++n === 40) interrupt.abort();
    });
    const stopped = await run(queue, first, { concurrency: 4, signal: interrupt.signal });
    expect(stopped.stopped).toBe('interrupted');
    // The in-flight ones finished and settled; none was cut half way
    expect(stopped.outcomes.every((o) => o.settling === 'settled')).toBe(true);
    expect(stopped.outcomes.length).toBeGreaterThanOrEqual(40);
    expect(stopped.outcomes.length).toBeLessThanOrEqual(43);
    expect(stopped.untried).toBe(200 - stopped.outcomes.length);
    expect(queue.hidden).toBe(0);
    // Resume
    const second = target();
    const resumed = await run(queue, second, { concurrency: 4 });
    expect(resumed.outcomes).toHaveLength(200 - stopped.outcomes.length);
    expect(new Set([...first.ran, ...second.ran]).size).toBe(200);
    expect(first.ran.length + second.ran.length).toBe(200);
    expect(queue.left).toBe(0);
  });
});
