import { beforeEach, describe, expect, it } from 'vitest';
import { ModelUnavailableError, Pipeline, Replayer, type Store } from '../../../shared/core/index.ts';
import { applyMergePatch, mergePatchBetween, replayPatch } from '../../../shared/oncall/index.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';
import { config, fakePlacer, orderEvent, RecordingPublisher, route } from '../pipeline/fixtures.ts';

let clock: FakeClock;
let store: Store;

beforeEach(() => {
  clock = new FakeClock();
  store = createMemoryStore({ clock });
});

function mesh(scripts: Record<string, Step[]>) {
  const provider = new ScriptedProvider(scripts);
  const routes = [route()];
  const pipeline = new Pipeline({
    config: config(),
    routes,
    matcher: { matches: () => routes.map((r) => r.id) },
    placer: fakePlacer,
    providers: { get: () => provider },
    publisher: new RecordingPublisher(),
    store,
    summarizePlacement: () => 'summary',
    clock,
    random: () => 0,
  });
  return { pipeline, provider, replayer: new Replayer({ pipeline, placer: fakePlacer, store, clock }) };
}

describe('JSON merge patch (RFC 7386)', () => {
  it('merges objects, removes keys patched with null and replaces arrays whole', () => {
    expect(applyMergePatch({ a: { b: 1, c: 2 }, d: [1, 2], e: 'x' }, { a: { b: 9 }, d: [3], e: null })).toEqual({ a: { b: 9, c: 2 }, d: [3] });
    expect(applyMergePatch('text', { a: 1 })).toEqual({ a: 1 });
  });

  it('derives the patch that turns one detail into another, and nothing when they are the same', () => {
    const before = { orderId: 'A-1', customer: { tier: 'regular', id: 'C-1' }, note: 'x' };
    const after = { orderId: 'A-1', customer: { tier: 'gold', id: 'C-1' } };
    const patch = mergePatchBetween(before, after);
    expect(patch).toEqual({ customer: { tier: 'gold' }, note: null });
    expect(applyMergePatch(before, patch)).toEqual(after);
    expect(mergePatchBetween(before, structuredClone(before))).toBeUndefined();
  });
});

describe('replay with a patch', () => {
  it('runs the patched detail, keeps the original event on the failure and the patch in the history', async () => {
    // Prepare: the event failed; its order id was wrong
    const failed = await mesh({ near: [{ error: new ModelUnavailableError('503') }], far: [{ error: new ModelUnavailableError('503') }] }).pipeline.process(orderEvent('e-1'));
    const failureId = failed.routes[0]!.failureId!;
    const { replayer, provider } = mesh({ near: [{ output: { score: 3 } }] });
    // Act
    const outcome = await replayer.replay(failureId, { actor: 'ana', patch: replayPatch('{ "orderId": "A-1-FIXED" }', 'fix.json') });
    // Assess
    expect(outcome.outcome).toBe('succeeded');
    expect(provider.calls[0]!.prompt).toContain('Score order "A-1-FIXED" of 120');
    const record = await store.failures.getFailure(failureId);
    expect(record!.envelope.event.data).toEqual({ orderId: 'A-1', total: 120 });
    expect(record!.replays![0]!.options).toEqual({ patch: '{"orderId":"A-1-FIXED"}', patchFrom: 'fix.json' });
  });

  it('refuses a patch that is not a JSON object before anything runs, leaving the history as it was', async () => {
    const failed = await mesh({ near: [{ error: new ModelUnavailableError('503') }], far: [{ error: new ModelUnavailableError('503') }] }).pipeline.process(orderEvent('e-2'));
    const failureId = failed.routes[0]!.failureId!;
    const { replayer, provider } = mesh({ near: [{ output: { score: 3 } }] });
    const outcome = await replayer.replay(failureId, { actor: 'ana', patch: replayPatch('[1, 2]') });
    expect(outcome).toMatchObject({ outcome: 'not-replayed', detail: expect.stringMatching(/^patch refused: the patch: expected a JSON object/) });
    expect(provider.calls).toHaveLength(0);
    expect((await store.failures.getFailure(failureId))!.replays ?? []).toEqual([]);
  });
});
