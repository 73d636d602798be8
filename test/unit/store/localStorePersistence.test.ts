import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../shared/core/index.ts';
import { openLocalStore } from '../../../shared/store/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { entry, envelope, failure } from '../../contract/store/fixtures.ts';

/** Text a store that normalises JSON (jsonb) would change or refuse: NUL, key order, number spelling. */
function awkwardEnvelope(): Envelope {
  const base = envelope('evt-awkward');
  return { ...base, event: { ...base.event, data: { z: 'nul\u0000inside', a: [1e21, 0.1, -5e-7], '10': 'numeric key', é: '🚚' } } };
}

describe('embedded store persistence', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('creates a missing directory, and gives back after a restart everything written before it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nearmesh-persist-'));
    cleanup.push(() => rm(root, { recursive: true, force: true }));
    const dir = join(root, 'project', '.mesh');
    const clock = new FakeClock('2026-11-22T08:00:00.000Z');
    const inAMinute = new Date(clock.now().getTime() + 60_000);
    const failed = failure({ envelope: awkwardEnvelope() });
    const input = entry({ envelope: awkwardEnvelope() });
    const result = entry({ kind: 'result', eventId: 'res-1', routeId: 'score-order', destination: 'orders-bus' });

    const first = await openLocalStore({ dir, clock });
    cleanup.push(() => first.close());
    const claim = await first.idempotency.begin('score-order/evt-1', inAMinute);
    if (claim.state !== 'claimed') throw new Error('expected a fresh claim');
    await first.idempotency.complete('score-order/evt-1', claim.token, 'res-1');
    await first.idempotency.begin('score-order/evt-2', inAMinute);
    await first.failures.recordFailure(failed);
    await first.events.append(input);
    await first.events.append(result);
    const seqsBefore = (await first.events.listEvents()).map((e) => e.seq);
    await first.close();

    const second = await openLocalStore({ dir, clock });
    cleanup.push(() => second.close());
    await second.events.append(entry({ eventId: 'evt-after-restart' }));

    expect(await second.idempotency.begin('score-order/evt-1', inAMinute)).toEqual({ state: 'completed', resultId: 'res-1' });
    expect(await second.idempotency.begin('score-order/evt-2', inAMinute)).toEqual({ state: 'in-progress' });
    const failedAgain = await second.failures.getFailure(failed.id);
    expect(failedAgain).toEqual(failed);
    expect(JSON.stringify(failedAgain?.envelope)).toBe(JSON.stringify(failed.envelope));
    const events = await second.events.listEvents();
    expect(events.slice(0, 2)).toEqual([
      { ...input, seq: seqsBefore[0] },
      { ...result, seq: seqsBefore[1] },
    ]);
    expect(JSON.stringify(events[0]!.envelope)).toBe(JSON.stringify(input.envelope));
    expect(events[2]!.eventId).toBe('evt-after-restart');
    expect(events[2]!.seq).toBeGreaterThan(seqsBefore[1]!);
  });
});
