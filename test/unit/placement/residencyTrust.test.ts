import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatConfigIssue, Pipeline, type Route } from '../../../shared/core/index.ts';
import { loadRouteFile } from '../../../shared/config/index.ts';
import { createPlacer, explainRoute, explanationToJson, formatPlacement, REGIONS, summarizePlacement } from '../../../shared/placement/index.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { ScriptedProvider } from '../../fakes/scriptedProvider.ts';
import { config, envelope, route } from './fixtures.ts';

/*
 * Residency trust: a route's declared data.location is authoritative, so a producer cannot
 * move its data on paper (the event's `datalocation`) to reach a model the route forbids —
 * unless the route opts in with data.trustEventLocation: true.
 */

/** PII data in us-east-1 may only reach sim-bedrock-us-east-1; a claim of West Europe would open sim-azure-westeurope. */
const US = 'aws:us-east-1';
const claimEu = envelope({ datalocation: 'azure:westeurope' });

describe('residency trust in the placement decision', () => {
  it('keeps the route’s location when the event claims another, and the decision says why', () => {
    // Act
    const decision = createPlacer(config()).place(route({ classification: 'pii', location: US }), claimEu);
    // Assess
    expect(decision.location).toEqual({ cloud: 'aws', region: 'us-east-1', geography: 'us', from: 'route' });
    expect(decision.ranked.map((r) => r.endpoint.id)).toEqual(['sim-bedrock-us-east-1']);
    expect(decision.policy).toBe(
      'pii: same-region; ignored the event\'s datalocation "azure:westeurope" (route data.location is authoritative; data.trustEventLocation is not set)',
    );
    expect(summarizePlacement(decision)).toMatch(/^data aws:us-east-1 \(from route\) · pii: same-region; ignored the event's datalocation "azure:westeurope"/);
  });

  it('takes the event’s location when the route opts in with trustEventLocation', () => {
    const decision = createPlacer(config()).place(route({ classification: 'pii', location: US, trustEventLocation: true }), claimEu);
    expect(decision.location).toMatchObject({ cloud: 'azure', region: 'westeurope', from: 'event' });
    expect(decision.ranked.map((r) => r.endpoint.id)).toEqual(['sim-azure-westeurope']);
    expect(decision.policy).toBe('pii: same-region');
  });

  it('takes the event’s location, then the origin, when the route declares none (as before)', () => {
    const claimed = createPlacer(config()).place(route({ classification: 'internal' }), claimEu);
    const unclaimed = createPlacer(config()).place(route({ classification: 'internal' }), envelope());
    expect(claimed.location.from).toBe('event');
    expect(claimed.ranked[0]?.endpoint.id).toBe('sim-azure-westeurope');
    expect(unclaimed.location).toMatchObject({ cloud: 'aws', region: 'us-east-1', from: 'origin' });
  });

  it('names the winning source in mesh explain, text and JSON', () => {
    const explained = explainRoute(createPlacer(config()), route({ classification: 'pii', location: US }), claimEu);
    expect(formatPlacement(explained.decision)).toContain('  data     aws:us-east-1 (from route), geography us');
    expect(formatPlacement(explained.decision)).toContain('ignored the event\'s datalocation "azure:westeurope"');
    expect(explanationToJson(explained)).toMatchObject({ dataLocation: 'aws:us-east-1', dataLocationSource: 'route', placement: { chosen: 'sim-bedrock-us-east-1' } });
  });

  it('a route’s declared location decides whatever the event claims, unless the route trusts the event', () => {
    const regions = REGIONS.filter((r) => r.cloud === 'aws' || r.cloud === 'azure');
    fc.assert(
      fc.property(fc.constantFrom(...regions), fc.constantFrom(...regions), fc.constantFrom('public', 'internal', 'confidential', 'pii'), (declared, claimed, classification) => {
        const placer = createPlacer(config());
        const r = route({ classification, location: `${declared.cloud}:${declared.name}` });
        const place = (e: ReturnType<typeof envelope>, rr: Route) => {
          const e2 = explainRoute(placer, rr, e);
          return { location: e2.decision.location, ranked: e2.decision.ranked.map((x) => x.endpoint.id) };
        };
        const withClaim = place(envelope({ datalocation: `${claimed.cloud}:${claimed.name}` }), r);
        // the claim changes nothing…
        expect(withClaim).toEqual(place(envelope(), r));
        expect(withClaim.location.from).toBe('route');
        // …until the route trusts the event
        const trusted = place(envelope({ datalocation: `${claimed.cloud}:${claimed.name}` }), { ...r, data: { ...r.data, trustEventLocation: true } });
        expect(trusted.location).toMatchObject({ cloud: claimed.cloud, region: claimed.name, from: 'event' });
      }),
      { numRuns: 200 },
    );
  });
});

describe('residency trust through the pipeline', () => {
  it('puts the winning source in the result’s provenance and in the failure record', async () => {
    // Prepare: pii declared in us-east-1; the model answers in the US, and a second route has no allowed endpoint at all
    const clock = new FakeClock();
    const store = createMemoryStore({ clock });
    const ok = route({ classification: 'pii', location: US });
    const blocked: Route = { ...route({ classification: 'pii', location: 'aws:ap-south-1' }), id: 'order-risk-in' };
    const provider = new ScriptedProvider({ 'sim-bedrock-us-east-1': [{ output: { ok: true } }] });
    const pipeline = new Pipeline({
      config: config(),
      routes: [ok, blocked],
      matcher: { matches: () => [ok.id, blocked.id] },
      placer: createPlacer(config()),
      providers: { get: () => provider },
      publisher: { publish: async (_d, events) => events.map((e) => ({ id: e.event.id, ok: true as const })) },
      store,
      summarizePlacement,
      clock,
    });
    // Act: the event claims West Europe, where an endpoint would serve both routes
    const outcome = await pipeline.process(claimEu);
    // Assess
    const [emitted, failed] = outcome.routes;
    const provenance = (emitted!.result!.event.data as { provenance: { placement: string; endpoint: string } }).provenance;
    expect(provenance.endpoint).toBe('sim-bedrock-us-east-1');
    expect(provenance.placement).toMatch(/^data aws:us-east-1 \(from route\) · pii: same-region; ignored the event's datalocation "azure:westeurope"/);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'PolicyViolation' } });
    const record = await store.failures.getFailure(failed!.failureId!);
    expect(record?.placement?.location).toMatchObject({ cloud: 'aws', region: 'ap-south-1', from: 'route' });
    expect(record?.placement?.policy).toContain('ignored the event\'s datalocation "azure:westeurope"');
    expect(record?.message).toContain('data at aws:ap-south-1 (from route)');
    expect(provider.calls.map((c) => c.endpoint.id)).toEqual(['sim-bedrock-us-east-1']);
  });
});

describe('data.trustEventLocation in a route file', () => {
  const ROUTE = (data: string) => `id: order-risk
match: { source: [com.acme.orders] }
data:
${data}
task:
  prompt: "Score {{detail.orderId}}"
  output: { type: object }
  maxTokens: 100
emit: { source: nearmesh.order-risk, detailType: OrderRiskScored }
`;
  async function load(data: string): Promise<Route | ConfigError> {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-trust-'));
    const file = join(dir, 'order-risk.yaml');
    await writeFile(file, ROUTE(data));
    return loadRouteFile(file, config()).catch((err: unknown) => err as ConfigError);
  }

  it('loads the opt-in onto the route', async () => {
    const loaded = await load('  classification: pii\n  location: aws:us-east-1\n  trustEventLocation: true');
    expect(loaded).not.toBeInstanceOf(Error);
    expect((loaded as Route).data).toEqual({ classification: 'pii', location: 'aws:us-east-1', trustEventLocation: true });
  });

  it('leaves it unset when the route does not say', async () => {
    const loaded = (await load('  classification: pii\n  location: aws:us-east-1')) as Route;
    expect(loaded.data).toEqual({ classification: 'pii', location: 'aws:us-east-1' });
  });

  it('refuses a value that is not true or false, at its line', async () => {
    const err = await load('  classification: pii\n  location: aws:us-east-1\n  trustEventLocation: "yes"');
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues.map(formatConfigIssue);
    expect(issues).toEqual([expect.stringMatching(/order-risk\.yaml:6:\d+ data\.trustEventLocation: expected true or false, got "yes"/)]);
  });

  it('suggests the name when it is misspelt', async () => {
    const err = await load('  classification: pii\n  location: aws:us-east-1\n  trustEventLocaton: true');
    const issues = (err as ConfigError).issues.map(formatConfigIssue);
    expect(issues).toEqual([expect.stringMatching(/data\.trustEventLocaton: unknown key "trustEventLocaton" \(did you mean "trustEventLocation"\?\)/)]);
  });
});
