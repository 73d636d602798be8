import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLocalStore, type LocalStore } from '../../../shared/store/index.ts';
import { auditEntry, entry, failure } from '../../contract/store/fixtures.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';

/* Retention: old inputs and results go, long-resolved failures go, open failures stay. */

const DAY = 86_400_000;
const RETENTION = { eventsMs: 7 * DAY, resolvedFailuresMs: 30 * DAY, auditMs: 90 * DAY };

describe('embedded store retention', () => {
  let dir = '';
  let clock: FakeClock;
  let store: LocalStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nearmesh-retention-'));
    clock = new FakeClock('2026-11-01T08:00:00.000Z');
    store = await openLocalStore({ dir, clock });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const eventIds = async () => (await store.events.listEvents()).map((e) => e.eventId);

  it('prunes inputs and results logged more than the retention ago, by when they were logged', async () => {
    // Prepare: two entries logged 8 days ago (one claiming an old `at`), one 7 days ago, one today.
    await store.events.append(entry({ eventId: 'old-input' }));
    await store.events.append(entry({ kind: 'result', eventId: 'old-result', routeId: 'r1', at: '2020-01-01T00:00:00.000Z' }));
    clock.advance(DAY);
    await store.events.append(entry({ eventId: 'at-the-edge' }));
    clock.advance(6 * DAY);
    await store.events.append(entry({ eventId: 'recent', at: '2020-01-01T00:00:00.000Z' }));
    clock.advance(DAY);

    // Act
    const report = await store.prune(RETENTION);

    // Assess: older than 7 days is gone; exactly 7 days old is kept.
    expect(report).toEqual({
      dryRun: false,
      events: 2,
      eventsBefore: '2026-11-02T08:00:00.000Z',
      resolvedFailures: 0,
      resolvedFailuresBefore: '2026-10-10T08:00:00.000Z',
      decidedApprovals: 0,
      audit: 0,
      auditBefore: '2026-08-11T08:00:00.000Z',
    });
    expect(await eventIds()).toEqual(['at-the-edge', 'recent']);
  });

  it('prunes the log in log order: an entry logged old after a newer one (the clock stepped back) waits for a later prune', async () => {
    // Prepare: old, then newer, then old again (the clock went back 9 days), then a week passes.
    await store.events.append(entry({ eventId: 'old' }));
    clock.advance(9 * DAY);
    await store.events.append(entry({ eventId: 'newer' }));
    clock.advance(-9 * DAY);
    await store.events.append(entry({ eventId: 'old-after-newer' }));
    clock.advance(16 * DAY);
    await store.events.append(entry({ eventId: 'today' }));

    // Act: `newer` is 7 days old, kept; `old-after-newer` is older but logged after it.
    const first = await store.prune(RETENTION);
    const afterFirst = await eventIds();
    clock.advance(2 * DAY);
    const second = await store.prune(RETENTION);

    // Assess
    expect(first.events).toBe(1);
    expect(afterFirst).toEqual(['newer', 'old-after-newer', 'today']);
    expect(second.events).toBe(2);
    expect(await eventIds()).toEqual(['today']);
  });

  it('counts without deleting in a dry run', async () => {
    await store.events.append(entry({ eventId: 'old' }));
    clock.advance(8 * DAY);

    const report = await store.prune(RETENTION, { dryRun: true });

    expect(report).toMatchObject({ dryRun: true, events: 1 });
    expect(await eventIds()).toEqual(['old']);
  });

  it('never hands out a sequence number twice, even after pruning the whole log', async () => {
    for (const id of ['a', 'b', 'c']) await store.events.append(entry({ eventId: id }));
    clock.advance(8 * DAY);

    await store.prune(RETENTION);
    await store.events.append(entry({ eventId: 'd' }));

    expect((await store.events.listEvents()).map((e) => [e.seq, e.eventId])).toEqual([[4, 'd']]);
    expect(await store.events.listEvents({ afterSeq: 3 })).toHaveLength(1);
  });

  it('keeps open failures whatever their age, and drops failures resolved more than 30 days ago with their replays', async () => {
    // Prepare: a failure open for a year, one resolved 31 days ago (with a replay), one that
    // failed long ago but was resolved only 29 days ago, and one resolved and then reopened.
    await store.failures.recordFailure(failure({ id: 'f-open', at: '2025-11-01T08:00:00.000Z' }));
    await store.failures.recordFailure(failure({ id: 'f-gone' }));
    await store.failures.recordReplay('f-gone', { at: '2026-11-01T09:00:00.000Z', actor: 'ana', outcome: 'succeeded', detail: 'res-1' });
    await store.failures.resolveFailure('f-gone');
    await store.failures.recordFailure(failure({ id: 'f-late', at: '2025-11-01T08:00:00.000Z' }));
    await store.failures.recordFailure(failure({ id: 'f-reopened' }));
    await store.failures.resolveFailure('f-reopened');
    clock.advance(2 * DAY);
    await store.failures.resolveFailure('f-late');
    await store.failures.recordFailure(failure({ id: 'f-reopened' }));
    clock.advance(29 * DAY);

    // Act
    const report = await store.prune(RETENTION);

    // Assess
    expect(report.resolvedFailures).toBe(1);
    expect((await store.failures.listFailures()).map((f) => f.id).sort()).toEqual(['f-late', 'f-open', 'f-reopened']);
    expect(await store.failures.getFailure('f-gone')).toBeUndefined();
    // The replay history went with it: a failure recorded again under the same id starts clean.
    await store.failures.recordFailure(failure({ id: 'f-gone' }));
    expect(await store.failures.getFailure('f-gone')).not.toHaveProperty('replays');
  });

  it('keeps claims, so a late redelivery of a pruned event still finds its result', async () => {
    const claim = await store.idempotency.begin('r1:evt-1', new Date(clock.now().getTime() + 60_000));
    if (claim.state !== 'claimed') throw new Error('expected a claim');
    await store.idempotency.complete('r1:evt-1', claim.token, 'res-1');
    await store.events.append(entry());
    clock.advance(8 * DAY);

    await store.prune(RETENTION);

    expect(await eventIds()).toEqual([]);
    expect(await store.idempotency.peek('r1:evt-1')).toEqual({ state: 'completed', resultId: 'res-1' });
  });

  it('prunes audit records made more than the audit retention ago, by when the call was made, and counts them in a dry run', async () => {
    // Prepare: calls made 91 days ago, exactly 90 days ago and today (the store's clock is now).
    await store.audit.record(auditEntry({ eventId: 'old', at: '2026-08-02T08:00:00.000Z' }));
    await store.audit.record(auditEntry({ eventId: 'at-the-edge', at: '2026-08-03T08:00:00.000Z' }));
    await store.audit.record(auditEntry({ eventId: 'recent', at: '2026-11-01T07:00:00.000Z' }));

    // Act
    const dry = await store.prune(RETENTION, { dryRun: true });
    const afterDry = (await store.audit.listAudit()).map((e) => e.eventId);
    const report = await store.prune(RETENTION);

    // Assess
    expect(dry).toMatchObject({ dryRun: true, audit: 1, auditBefore: '2026-08-03T08:00:00.000Z' });
    expect(afterDry).toEqual(['recent', 'at-the-edge', 'old']);
    expect(report).toMatchObject({ dryRun: false, audit: 1 });
    expect((await store.audit.listAudit()).map((e) => e.eventId)).toEqual(['recent', 'at-the-edge']);
  });

  it('prunes held results decided more than the failures’ retention ago, by when the decision was recorded; pending ones stay', async () => {
    // Prepare: one held long ago and still pending, one decided 31 days ago, one decided 29 days ago.
    const held = (resultId: string) => ({
      resultId,
      routeId: 'order-risk',
      inputId: `in-${resultId}`,
      heldAt: '2026-01-01T08:00:00.000Z',
      status: 'pending' as const,
      result: entry().envelope,
      destinations: [],
    });
    for (const id of ['pending', 'old', 'recent']) await store.approvals!.hold(held(id));
    await store.approvals!.decide('old', { status: 'approved', actor: 'ana', at: '2020-01-01T00:00:00.000Z' });
    clock.advance(2 * DAY);
    await store.approvals!.decide('recent', { status: 'rejected', actor: 'bo', at: '2020-01-01T00:00:00.000Z', reason: 'no' });
    clock.advance(29 * DAY);

    // Act
    const report = await store.prune(RETENTION);

    // Assess
    expect(report.decidedApprovals).toBe(1);
    expect((await store.approvals!.list()).map((r) => r.resultId).sort()).toEqual(['pending', 'recent']);
  });

  it('refuses a negative retention, naming it', async () => {
    await expect(store.prune({ eventsMs: -1, resolvedFailuresMs: DAY, auditMs: DAY })).rejects.toThrow(/retention eventsMs/);
    await expect(store.prune({ eventsMs: DAY, resolvedFailuresMs: DAY, auditMs: -1 })).rejects.toThrow(/retention auditMs/);
  });
});
