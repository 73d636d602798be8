import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  invokeWithFailover,
  ModelThrottledError,
  silentLogger,
  type EndpointHealth,
  type MeshConfig,
  type ModelEndpoint,
  type ResidencyRule,
} from '../../../shared/core/index.ts';
import { createPlacer, explainRoute, lookupRegion, REGIONS } from '../../../shared/placement/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { envelope, route } from './fixtures.ts';

/*
 * Properties of placement over random catalogues, policies, locations and classifications.
 * The policy is checked by an oracle written here from the words, not by calling
 * the code under test, so a bug in `allows` cannot hide itself.
 */

// Regions that share geographies, so random draws collide often; plus any region at all.
const POOL = [
  ['aws', 'us-east-1'], ['aws', 'us-east-2'], ['aws', 'eu-central-1'], ['aws', 'eu-west-1'], ['aws', 'eu-west-2'], ['aws', 'ap-northeast-1'], ['aws', 'ap-southeast-2'],
  ['azure', 'eastus'], ['azure', 'westeurope'], ['azure', 'swedencentral'], ['azure', 'uksouth'], ['azure', 'japaneast'], ['azure', 'australiaeast'],
] as const;
const region = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...POOL).map(([cloud, name]) => ({ cloud, name })) },
  { weight: 1, arbitrary: fc.constantFrom(...REGIONS).map((r) => ({ cloud: r.cloud, name: r.name })) },
);
const same = fc.constantFrom('same' as const, 'any' as const);
const rule: fc.Arbitrary<ResidencyRule> = fc.record({ cloud: same, geography: same, region: same });
const CLASSES = ['public', 'internal', 'confidential', 'pii'];

const endpointSpec = fc.record({
  at: region,
  scope: fc.constantFrom('region' as const, 'region' as const, 'geography' as const, 'global' as const),
  openai: fc.boolean(),
  price: fc.integer({ min: 0, max: 3 }),
  json: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

type EndpointSpec = typeof endpointSpec extends fc.Arbitrary<infer T> ? T : never;

function toEndpoint(s: EndpointSpec, i: number): ModelEndpoint {
  const base = { id: `ep-${String(i).padStart(2, '0')}`, provider: 'simulated' as const, model: 'm', price: { input: s.price, output: s.price }, capabilities: s.json ? ['json'] : ['chat'], options: {} };
  if (s.scope === 'global' && s.openai) return { ...base, cloud: 'openai', scope: 'global' };
  return { ...base, cloud: s.at.cloud, region: s.at.name, scope: s.scope };
}

const base = fc.record({
  endpoints: fc.array(endpointSpec, { minLength: 1, maxLength: 8 }).map((specs) => specs.map((s, i) => toEndpoint(s, i))),
  rules: fc.tuple(rule, rule, rule, rule),
  routeClass: fc.constantFrom(...CLASSES),
  eventClass: fc.option(fc.constantFrom(...CLASSES, 'top-secret'), { nil: undefined }),
  allowlistMask: fc.option(fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), { nil: undefined }),
  openMask: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  seed: fc.integer(),
});

/** Data mostly where the catalogue is, or in a neighbour of the same geography, so the rules have something to decide. */
function dataNear(endpoints: ModelEndpoint[]): fc.Arbitrary<{ cloud: 'aws' | 'azure'; name: string } | undefined> {
  const homes = endpoints.flatMap((e) => (e.region ? [lookupRegion(e.cloud, e.region)!] : []));
  const neighbours = REGIONS.filter((r) => homes.some((h) => h.geography === r.geography)).map((r) => ({ cloud: r.cloud, name: r.name }));
  const choices: Array<fc.Arbitrary<{ cloud: 'aws' | 'azure'; name: string }>> = [region];
  if (homes.length > 0) choices.push(fc.constantFrom(...homes.map((h) => ({ cloud: h.cloud, name: h.name }))), fc.constantFrom(...neighbours));
  return fc.option(fc.oneof(...choices), { nil: undefined, freq: 6 });
}

const scenario = base.chain((b) => dataNear(b.endpoints).map((data) => ({ ...b, data })));
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function setUp(s: Scenario) {
  const config: MeshConfig = {
    file: 'mesh.yaml',
    models: s.endpoints,
    residency: Object.fromEntries(CLASSES.map((c, i) => [c, s.rules[i]!])),
    sources: {},
    destinations: {},
    sites: {},
    seed: 1,
  };
  const allowlist = s.allowlistMask ? s.endpoints.filter((_, i) => s.allowlistMask![i]).map((e) => e.id) : undefined;
  const r = route({ classification: s.routeClass }, allowlist && allowlist.length > 0 ? allowlist : undefined);
  const ext = { ...(s.data ? { datalocation: `${s.data.cloud}:${s.data.name}` } : {}), ...(s.eventClass ? { dataclassification: s.eventClass } : {}) };
  const env = envelope(ext, { transport: 'http', cloud: 'local', region: undefined });
  return { config, route: r, envelope: env };
}

/** The rule that applies: the route's, raised (never lowered) by the event; none for an unknown class. */
function effectiveRule(s: Scenario): ResidencyRule | undefined {
  if (s.eventClass === 'top-secret') return undefined;
  const rank = (c: string) => CLASSES.indexOf(c);
  const name = s.eventClass && rank(s.eventClass) > rank(s.routeClass) ? s.eventClass : s.routeClass;
  return s.rules[rank(name)];
}

/** The policy, literally. */
function permitted(rule: ResidencyRule, data: Scenario['data'], e: ModelEndpoint): boolean {
  if (rule.cloud === 'any' && rule.geography === 'any' && rule.region === 'any') return true;
  if (!data) return false;
  if ((rule.cloud === 'same' || rule.region === 'same') && e.cloud !== data.cloud) return false;
  if (rule.region === 'same' && (e.scope !== 'region' || e.region !== data.name)) return false;
  if (rule.geography === 'same') {
    if (e.scope === 'global') return false;
    const home = lookupRegion(e.cloud, e.region!)!;
    // a geography-scope endpoint may run anywhere in its provider's zone; a zone wider than the geography guarantees none
    if (e.scope === 'geography' && home.zone !== undefined) return false;
    if (home.geography !== lookupRegion(data.cloud, data.name)!.geography) return false;
  }
  return true;
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed | 1;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = Math.abs(x) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('placement properties', () => {
  it('ranks exactly the endpoints the route may use and the policy permits; rejects every other one, once', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { config, route: r, envelope: env } = setUp(s);
        const { decision } = explainRoute(createPlacer(config), r, env);
        const rule = effectiveRule(s);
        const usable = (e: ModelEndpoint) => (r.task.models ? r.task.models.includes(e.id) : true) && e.capabilities.includes('json');
        const expected = s.endpoints.filter((e) => rule !== undefined && usable(e) && permitted(rule, s.data, e)).map((e) => e.id);
        expect(decision.ranked.map((x) => x.endpoint.id).sort()).toEqual(expected.sort());
        expect([...decision.ranked.map((x) => x.endpoint.id), ...decision.rejected.map((x) => x.endpointId)].sort()).toEqual(s.endpoints.map((e) => e.id).sort());
      }),
      { numRuns: 500 },
    );
  });

  it('decides the same way every time, whatever order the catalogue lists endpoints in', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { config, route: r, envelope: env } = setUp(s);
        const once = explainRoute(createPlacer(config), r, env).decision;
        const again = explainRoute(createPlacer({ ...config, models: shuffled(config.models, s.seed) }), r, env).decision;
        expect(again.ranked).toEqual(once.ranked);
        expect(new Set(again.rejected.map((x) => JSON.stringify(x)))).toEqual(new Set(once.rejected.map((x) => JSON.stringify(x))));
      }),
      { numRuns: 300 },
    );
  });

  it('orders data-gravity by tier, with every global endpoint in tier 4', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { config, route: r, envelope: env } = setUp(s);
        const tiers = explainRoute(createPlacer(config), r, env).decision.ranked.map((x) => x.tier);
        expect(tiers).toEqual([...tiers].sort((a, b) => a - b));
        for (const x of explainRoute(createPlacer(config), r, env).decision.ranked) if (x.endpoint.scope === 'global') expect(x.tier).toBe(4);
      }),
      { numRuns: 300 },
    );
  });

  it('fails over only to permitted endpoints whose circuit is closed, or makes no call at all', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), async (s, failing) => {
        // Prepare: some circuits open, some endpoints always throttle
        const { config, route: r, envelope: env } = setUp(s);
        const open = new Set(s.endpoints.filter((_, i) => s.openMask[i]).map((e) => e.id));
        const health: EndpointHealth = { openUntil: (id) => (open.has(id) ? new Date(0) : undefined), succeeded: () => {}, failed: () => {} };
        const explained = explainRoute(createPlacer(config, { health }), r, env);
        const called: string[] = [];
        const rule = effectiveRule(s);
        // Act
        if (!explained.error) {
          await invokeWithFailover({
            route: { ...r, task: { ...r.task, attemptsPerEndpoint: 2 } },
            eventId: 'e-1',
            ranked: explained.decision.ranked,
            prompt: 'p',
            providers: {
              get: () => ({
                kind: 'simulated',
                invoke: async (req) => {
                  called.push(req.endpoint.id);
                  if (failing[Number(req.endpoint.id.slice(3))]) throw new ModelThrottledError('busy', { retryAfterMs: 0 });
                  return { output: {}, usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 };
                },
              }),
            },
            clock: new FakeClock(),
            logger: silentLogger,
            signal: new AbortController().signal,
            random: () => 0,
          }).catch(() => undefined);
        }
        // Assess
        for (const id of called) {
          const e = s.endpoints.find((x) => x.id === id)!;
          expect(rule && permitted(rule, s.data, e)).toBe(true);
          expect(open.has(id)).toBe(false);
        }
        if (explained.error) {
          expect(called).toEqual([]);
          // all allowed but every circuit open: retryable; otherwise a policy violation
          expect(explained.error.code).toBe(explained.decision.skipped && explained.decision.skipped.length > 0 ? 'ModelUnavailable' : 'PolicyViolation');
          expect(explained.error.retryable).toBe(explained.error.code === 'ModelUnavailable');
        }
      }),
      { numRuns: 300 },
    );
  });
});
