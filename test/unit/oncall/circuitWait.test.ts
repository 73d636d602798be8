import { beforeEach, describe, expect, it } from 'vitest';
import { ModelUnavailableError, Pipeline, Replayer, type ReplayOutcome, type Store } from '../../../shared/core/index.ts';
import { CircuitWait, type CircuitWaitNotice } from '../../../shared/oncall/index.ts';
import { createCircuitBreaker, createPlacer } from '../../../shared/placement/index.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';
import { config, orderEvent, RecordingPublisher, route } from '../pipeline/fixtures.ts';

let clock: FakeClock;
let store: Store;

beforeEach(() => {
  clock = new FakeClock();
  store = createMemoryStore({ clock });
});

const down: Step = { error: new ModelUnavailableError('simulated 503') };

/** One process's mesh as replay sees it: one set of circuits shared by the placer and the invoke step. */
function mesh(scripts: Record<string, Step[]>, health = createCircuitBreaker({ clock, failures: 3, windowMs: 60_000, cooldownMs: 30_000 })) {
  const provider = new ScriptedProvider(scripts);
  const placer = createPlacer(config(), { health });
  const routes = [route()];
  const pipeline = new Pipeline({
    config: config(),
    routes,
    matcher: { matches: () => routes.map((r) => r.id) },
    placer,
    providers: { get: () => provider },
    publisher: new RecordingPublisher(),
    store,
    summarizePlacement: () => 'summary',
    clock,
    health,
    random: () => 0,
  });
  return { pipeline, provider, health, replayer: new Replayer({ pipeline, placer, store, clock }) };
}

/** A fault storm: 50 events fail while both endpoints are down; most are refused by the open circuits. */
async function storm(m: ReturnType<typeof mesh>): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    const outcome = await m.pipeline.process(orderEvent(`e-${i}`));
    ids.push(outcome.routes[0]!.failureId!);
  }
  return ids;
}

/** Replay like `mesh replay --all`: one gate for the run, stop when it says so. */
async function replayAll(replayer: Replayer, ids: string[], maxWaitMs: number) {
  const waits: CircuitWaitNotice[] = [];
  const gate = new CircuitWait({ maxWaitMs, now: () => clock.now().getTime(), sleep: (ms) => clock.sleep(ms), onWait: (n) => waits.push(n) });
  const outcomes: ReplayOutcome[] = [];
  let stop: string | undefined;
  for (const failureId of ids) {
    const gated = await gate.run(() => replayer.replay(failureId, { actor: 'ana' }));
    outcomes.push(gated.outcome);
    if (gated.stop) {
      stop = gated.stop;
      break;
    }
  }
  return { outcomes, stop, waits };
}

describe('replay meeting open circuits', () => {
  it('does not mark 49 events failed again without a model call when the faults are still on: it waits, then stops naming the endpoints', async () => {
    // Prepare: the storm opened both circuits; the faults are still on
    const m = mesh({ near: [down], far: [down] });
    const ids = await storm(m);
    const before = m.provider.calls.length;
    // Act
    const { outcomes, stop, waits } = await replayAll(m.replayer, ids, 60_000);
    // Assess: every "failed again" made a model call; the run stopped early, the rest untouched
    const failedAgain = outcomes.filter((o) => o.outcome === 'failed-again');
    expect(failedAgain.length).toBeLessThanOrEqual(2);
    expect(m.provider.calls.length - before).toBeGreaterThanOrEqual(failedAgain.length);
    expect(waits.length).toBeGreaterThan(0);
    expect(stop).toMatch(/endpoint (near, far|far, near) is down: circuit open until .* past --max-wait 60 s/);
    expect(outcomes.at(-1)).toMatchObject({ outcome: 'not-replayed', blocked: { endpoints: expect.arrayContaining(['near', 'far']) } });
    const untouched = await Promise.all(ids.slice(outcomes.length).map((id) => store.failures.getFailure(id)));
    expect(untouched.length).toBeGreaterThan(40);
    for (const record of untouched) expect(record!.replays ?? []).toEqual([]);
    // The last (refused) one keeps its history as it was, too
    const refused = await store.failures.getFailure(ids[outcomes.length - 1]!);
    expect((refused!.replays ?? []).every((r) => r.outcome !== 'not-replayed')).toBe(true);
  });

  it('waits out the cool-down and replays every event once the endpoint is back', async () => {
    // Prepare: the storm opened the circuits; the fault is gone, but the circuits do not know yet
    const stormy = mesh({ near: [down], far: [down] });
    const ids = await storm(stormy);
    // The replay runs where the storm did (mesh dev, say): the same circuits
    const healthy = mesh({ near: [{ output: { score: 7 } }] }, stormy.health);
    // Act
    const { outcomes, stop, waits } = await replayAll(healthy.replayer, ids, 60_000);
    // Assess
    expect(stop).toBeUndefined();
    expect(waits).toHaveLength(1);
    expect(waits[0]!.waitMs).toBeLessThanOrEqual(30_050);
    expect(outcomes.filter((o) => o.outcome === 'succeeded')).toHaveLength(50);
  });

  it('stops at once without waiting when --max-wait is 0, and writes nothing to the history', async () => {
    const m = mesh({ near: [down], far: [down] });
    const ids = await storm(m);
    const before = m.provider.calls.length;
    const { outcomes, stop, waits } = await replayAll(m.replayer, ids, 0);
    expect(waits).toEqual([]);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ outcome: 'not-replayed', detail: expect.stringMatching(/^not tried: circuit open for/) });
    expect(stop).toMatch(/is down/);
    expect(m.provider.calls.length).toBe(before);
    expect((await store.failures.getFailure(ids[0]!))!.replays ?? []).toEqual([]);
  });
});
