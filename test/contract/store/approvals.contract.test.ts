import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalRecord, ApprovalStore, Store } from '../../../shared/core/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { dynamoDbAdapter, envelope, localAdapter, memoryAdapter, tableStorageAdapter, type Adapter } from './fixtures.ts';

// One specification of the held results, every adapter (the cloud ones on the real SDK clients
// against the wire fakes): the approval desk must not be able to tell them apart.
describe.each<Adapter>([memoryAdapter, localAdapter(), dynamoDbAdapter(), tableStorageAdapter()])('Approval store contract: $name', (adapter) => {
  let clock: FakeClock;
  let store: Store;
  let approvals: ApprovalStore;
  let cleanup: () => Promise<void>;
  let teardown: () => Promise<void>;

  beforeAll(async () => {
    teardown = await adapter.setup();
  });
  afterAll(() => teardown());
  beforeEach(async () => {
    clock = new FakeClock('2026-11-22T08:00:00.000Z');
    ({ store, cleanup } = await adapter.open(clock));
    if (!store.approvals) throw new Error(`${adapter.name} keeps no held results`);
    approvals = store.approvals;
  });
  afterEach(() => cleanup());

  const record = (overrides: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
    resultId: 'res-1',
    routeId: 'order-risk',
    inputId: 'evt-1',
    heldAt: '2026-11-22T08:00:00.000Z',
    status: 'pending',
    result: envelope('res-1'),
    destinations: [{ name: 'orders-bus', kind: 'eventbridge', bus: 'orders', region: 'eu-west-1' }],
    ...overrides,
  });
  const approve = (actor: string, at = '2026-11-22T09:00:00.000Z') => ({ status: 'approved' as const, actor, at });

  it('holds a result once, keeping the envelope exactly; a second hold of the same id keeps the first', async () => {
    expect(await approvals.hold(record())).toBe(true);
    expect(await approvals.hold(record({ inputId: 'other', heldAt: '2026-11-22T08:05:00.000Z' }))).toBe(false);

    expect(await approvals.get('res-1')).toEqual(record());
    expect(await approvals.get('res-unknown')).toBeUndefined();
  });

  it('keeps a result larger than one table property (64 KiB) whole', async () => {
    const big = envelope('res-big');
    big.event.data = { text: 'ü€'.repeat(40_000) };
    await approvals.hold(record({ resultId: 'res-big', result: big }));

    expect((await approvals.get('res-big'))!.result).toEqual(big);
  });

  it('decides a pending record once: of simultaneous approvals exactly one decides, the others see it decided', async () => {
    await approvals.hold(record());

    const outcomes = await Promise.all(['ana', 'bo', 'cy', 'di'].map((actor) => approvals.decide('res-1', approve(actor))));

    const winners = outcomes.filter((o) => o.decided);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.record!.actor;
    expect(winners[0]!.record).toEqual({ ...record(), status: 'approved', actor: winner, decidedAt: '2026-11-22T09:00:00.000Z' });
    for (const lost of outcomes.filter((o) => !o.decided)) expect(lost.record).toMatchObject({ status: 'approved', actor: winner });
    expect(await approvals.get('res-1')).toMatchObject({ status: 'approved', actor: winner });
  });

  it('records a rejection with its reason; it cannot be decided again; an unknown id is not decided', async () => {
    await approvals.hold(record());

    const rejected = await approvals.decide('res-1', { status: 'rejected', actor: 'ana', at: '2026-11-22T09:00:00.000Z', reason: 'wrong customer' });
    const again = await approvals.decide('res-1', approve('bo'));
    const unknown = await approvals.decide('res-none', approve('bo'));

    expect(rejected).toEqual({ decided: true, record: { ...record(), status: 'rejected', actor: 'ana', decidedAt: '2026-11-22T09:00:00.000Z', reason: 'wrong customer' } });
    expect(again).toEqual({ decided: false, record: rejected.record });
    expect(unknown).toEqual({ decided: false, record: undefined });
  });

  it('reopens an approval whose publish failed, only while it still carries that decision', async () => {
    await approvals.hold(record());
    await approvals.decide('res-1', approve('ana'));

    await approvals.reopen('res-1', approve('someone-else'));
    const stillApproved = await approvals.get('res-1');
    await approvals.reopen('res-1', approve('ana'));

    expect(stillApproved).toMatchObject({ status: 'approved', actor: 'ana' });
    expect(await approvals.get('res-1')).toEqual(record());
    expect((await approvals.decide('res-1', approve('bo'))).decided).toBe(true);
  });

  it('lists newest held first, by status and route, with a limit', async () => {
    await approvals.hold(record({ resultId: 'a', heldAt: '2026-11-22T08:00:00.000Z' }));
    await approvals.hold(record({ resultId: 'b', heldAt: '2026-11-22T08:02:00.000Z', routeId: 'ticket-triage' }));
    await approvals.hold(record({ resultId: 'c', heldAt: '2026-11-22T08:01:00.000Z' }));
    await approvals.decide('c', approve('ana'));

    const ids = (list: ApprovalRecord[]) => list.map((r) => r.resultId);
    expect(ids(await approvals.list())).toEqual(['b', 'c', 'a']);
    expect(ids(await approvals.list({ status: 'pending' }))).toEqual(['b', 'a']);
    expect(ids(await approvals.list({ status: 'approved' }))).toEqual(['c']);
    expect(ids(await approvals.list({ routeId: 'order-risk' }))).toEqual(['c', 'a']);
    expect(ids(await approvals.list({ limit: 1 }))).toEqual(['b']);
  });

  it.runIf(adapter.name !== 'memory')('keeps held results beside the claims without touching them', async () => {
    const claim = await store.idempotency.begin('order-risk:evt-1', new Date(clock.now().getTime() + 60_000));
    await approvals.hold(record());
    if (claim.state !== 'claimed') throw new Error('expected a claim');
    await store.idempotency.complete('order-risk:evt-1', claim.token, 'res-1');

    expect(await store.idempotency.peek('order-risk:evt-1')).toEqual({ state: 'completed', resultId: 'res-1' });
    expect(await approvals.get('res-1')).toMatchObject({ status: 'pending' });
  });
});
