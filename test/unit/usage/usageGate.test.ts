import { describe, expect, it } from 'vitest';
import {
  BudgetExceededError,
  ConfigError,
  counterWindow,
  estimateUsage,
  requireCounters,
  silentLogger,
  StoreUnavailableError,
  UsageGate,
  usageKeys,
  type GateDecision,
  type ModelEndpoint,
  type Route,
  type UsageCounters,
} from '../../../shared/core/index.ts';
import { memoryCounters } from '../../../shared/store/memory/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { config, endpoint, route } from '../pipeline/fixtures.ts';

const NOW = '2026-11-22T08:00:10.000Z';
const minute = (clock: FakeClock) => counterWindow('minute', clock.now().getTime());
const hour = (clock: FakeClock) => counterWindow('hour', clock.now().getTime());

function setup(routeBudget?: Route['task']['budget'], limits?: ModelEndpoint['limits']) {
  const clock = new FakeClock(NOW);
  const counters = memoryCounters(clock);
  const gate = new UsageGate({ counters, clock, logger: silentLogger });
  const r = route({}, routeBudget ? { budget: routeBudget, maxTokens: 100 } : { maxTokens: 100 });
  const e: ModelEndpoint = { ...endpoint('near'), ...(limits ? { limits } : {}) };
  return { clock, counters, gate, route: r, endpoint: e };
}

const go = (d: GateDecision) => {
  if (d.kind !== 'go') throw new Error(`expected go, got ${d.kind}`);
  return d;
};

describe('estimateUsage', () => {
  it('counts the system and user prompt at 4 characters a token, rounded up, plus maxTokens for the answer', () => {
    const r = route({}, { maxTokens: 300 });

    expect(estimateUsage(r, 'x'.repeat(10), 'y'.repeat(7))).toEqual({ inputTokens: 5, outputTokens: 300 });
    expect(estimateUsage(r, undefined, 'y'.repeat(8))).toEqual({ inputTokens: 2, outputTokens: 300 });
  });
});

describe('UsageGate', () => {
  it('reserves the estimate against the route budget and settles it to the real usage after the call', async () => {
    const { gate, counters, clock, route: r, endpoint: e } = setup({ tokens: 1000, per: 'hour' });

    const decision = go(await gate.before(r, e, 'evt-1', { inputTokens: 50, outputTokens: 100 }));
    const reserved = await counters.read(usageKeys.budgetTokens(r.id), hour(clock));
    await decision.settle({ inputTokens: 40, outputTokens: 20 });

    expect(reserved).toBe(150);
    expect(await counters.read(usageKeys.budgetTokens(r.id), hour(clock))).toBe(60);
  });

  it('counts no tokens for a call that brought no answer, but still counts the request against rpm', async () => {
    const { gate, counters, clock, route: r, endpoint: e } = setup({ tokens: 1000, per: 'hour' }, { rpm: 10, tpm: 5000 });

    await go(await gate.before(r, e, 'evt-1', { inputTokens: 50, outputTokens: 100 })).settle(undefined);

    expect(await counters.read(usageKeys.budgetTokens(r.id), hour(clock))).toBe(0);
    expect(await counters.read(usageKeys.tpm(e.id), minute(clock))).toBe(0);
    expect(await counters.read(usageKeys.rpm(e.id), minute(clock))).toBe(1);
  });

  it('refuses a call the budget has no room for, with the reset time in message and context, reserving nothing', async () => {
    const { gate, counters, clock, route: r, endpoint: e } = setup({ tokens: 1000, per: 'hour' });
    await counters.adjust(usageKeys.budgetTokens(r.id), hour(clock), 900);

    const decision = await gate.before(r, e, 'evt-1', { inputTokens: 50, outputTokens: 100 });

    expect(decision.kind).toBe('over-budget');
    const error = (decision as { error: BudgetExceededError }).error;
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error.code).toBe('BudgetExceeded');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/route order-risk is over its budget: 900 tokens used of 1000 tokens per hour, .*no model call was made.*resets at 2026-11-22T09:00:00.000Z/);
    expect(error.context).toMatchObject({ routeId: 'order-risk', eventId: 'evt-1', budget: 'tokens', used: 900, limit: 1000, per: 'hour', resetsAt: '2026-11-22T09:00:00.000Z' });
    expect(error.context.retryAfterMs).toBe(3_600_000 - 10_000);
    expect(await counters.read(usageKeys.budgetTokens(r.id), hour(clock))).toBe(900);
  });

  it('counts cost in micro-USD at the endpoint price and refuses past costUsd', async () => {
    // fixtures price: input $1, output $2 per million tokens → 50 + 200 = 250 micro-USD per call.
    const { gate, counters, clock, route: r, endpoint: e } = setup({ costUsd: 0.0005, per: 'day' });
    const day = counterWindow('day', clock.now().getTime());

    await go(await gate.before(r, e, 'a', { inputTokens: 50, outputTokens: 100 })).settle({ inputTokens: 50, outputTokens: 100 });
    await go(await gate.before(r, e, 'b', { inputTokens: 50, outputTokens: 100 })).settle({ inputTokens: 50, outputTokens: 100 });
    const third = await gate.before(r, e, 'c', { inputTokens: 50, outputTokens: 100 });

    expect(await counters.read(usageKeys.budgetMicroUsd(r.id), day)).toBe(500);
    expect(third.kind).toBe('over-budget');
    expect((third as { error: Error }).error.message).toMatch(/\$0\.000500 used of \$0\.000500 per day/);
  });

  it('says an endpoint at its rpm is rate limited until the minute resets, and gives back the route budget it had reserved', async () => {
    const { gate, counters, clock, route: r, endpoint: e } = setup({ tokens: 1000, per: 'hour' }, { rpm: 2 });
    await counters.adjust(usageKeys.rpm(e.id), minute(clock), 2);

    const decision = await gate.before(r, e, 'evt-1', { inputTokens: 50, outputTokens: 100 });

    expect(decision).toEqual({ kind: 'rate-limited', reason: 'rpm 2 used in this minute, resets at 2026-11-22T08:01:00.000Z', resetsAt: '2026-11-22T08:01:00.000Z' });
    expect(await counters.read(usageKeys.budgetTokens(r.id), hour(clock))).toBe(0);
  });

  it('refuses on tpm with what the call needs, giving back the rpm it had taken', async () => {
    const { gate, counters, clock, route: r, endpoint: e } = setup(undefined, { rpm: 10, tpm: 1000 });
    await counters.adjust(usageKeys.tpm(e.id), minute(clock), 900);

    const decision = await gate.before(r, e, 'evt-1', { inputTokens: 50, outputTokens: 100 });

    expect(decision.kind).toBe('rate-limited');
    expect((decision as { reason: string }).reason).toBe('tpm 900 used in this minute (this call needs up to 150 of 1000), resets at 2026-11-22T08:01:00.000Z');
    expect(await counters.read(usageKeys.rpm(e.id), minute(clock))).toBe(0);
  });

  it('counts a new window from zero once the old one has passed', async () => {
    const { gate, counters, clock, route: r, endpoint: e } = setup(undefined, { rpm: 1 });
    go(await gate.before(r, e, 'a', { inputTokens: 1, outputTokens: 1 }));
    expect((await gate.before(r, e, 'b', { inputTokens: 1, outputTokens: 1 })).kind).toBe('rate-limited');

    clock.advance(60_000);

    expect((await gate.before(r, e, 'c', { inputTokens: 1, outputTokens: 1 })).kind).toBe('go');
    expect(await counters.read(usageKeys.rpm(e.id), minute(clock))).toBe(1);
  });

  it('never lets concurrent callers sharing the counters past a limit', async () => {
    const { counters, clock, route: r, endpoint: e } = setup({ tokens: 1500, per: 'minute' }, { rpm: 7 });
    const gates = [1, 2, 3].map(() => new UsageGate({ counters, clock, logger: silentLogger }));

    const decisions = await Promise.all(Array.from({ length: 30 }, (_, i) => gates[i % 3]!.before(r, e, `evt-${i}`, { inputTokens: 50, outputTokens: 100 })));

    // 1500 / 150 = 10 by budget, 7 by rpm: the tighter one wins, exactly.
    expect(decisions.filter((d) => d.kind === 'go')).toHaveLength(7);
    expect(await counters.read(usageKeys.rpm(e.id), minute(clock))).toBe(7);
    expect(await counters.read(usageKeys.budgetTokens(r.id), minute(clock))).toBe(7 * 150);
  });

  it('turns a counter store failure into a retryable StoreUnavailable', async () => {
    const broken: UsageCounters = {
      reserve: async () => {
        throw new Error('connection reset');
      },
      adjust: async () => 0,
      read: async () => 0,
    };
    const { route: r, endpoint: e } = setup({ tokens: 10, per: 'day' });
    const gate = new UsageGate({ counters: broken, clock: new FakeClock(NOW), logger: silentLogger });

    const failed = gate.before(r, e, 'evt-1', { inputTokens: 1, outputTokens: 1 });

    await expect(failed).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(failed).rejects.toMatchObject({ retryable: true, message: /usage counters unavailable: connection reset/ });
  });
});

describe('requireCounters', () => {
  it('refuses a mesh that declares budgets or limits when its store keeps no counters, naming each', () => {
    const c = config();
    c.models = [{ ...endpoint('near'), limits: { rpm: 60 } }, endpoint('far')];
    const routes = [route({}, { budget: { tokens: 10, per: 'day' } }), route({ id: 'plain' })];

    let error: unknown;
    try {
      requireCounters(c, routes, undefined);
    } catch (err) {
      error = err;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => [i.file, i.path])).toEqual([
      ['events/routes/order-risk.yaml', 'task.budget'],
      ['mesh.yaml', 'models[0].limits'],
    ]);
    expect((error as ConfigError).message).toMatch(/keeps no usage counters/);
    expect(() => requireCounters(c, routes, memoryCounters())).not.toThrow();
    expect(() => requireCounters(config(), [route()], undefined)).not.toThrow();
  });
});
