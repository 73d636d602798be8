import { describe, expect, it } from 'vitest';
import type { ModelEndpoint, PlacementDecision, ResidencyRule } from '../../../shared/core/index.ts';
import { createPlacer, explainRoute } from '../../../shared/placement/index.ts';
import { config, endpoint, envelope, route, rules } from './fixtures.ts';

/* The placement issue's real-world cases, one row each: who may see the data, and who is chosen. */

const sameRegion: ResidencyRule = { cloud: 'same', geography: 'same', region: 'same' };

/** A catalogue like a multi-cloud deployment's: regional endpoints, data-zone profiles, a global API. */
const catalogue: ModelEndpoint[] = [
  endpoint('bedrock-us-east-1', { region: 'us-east-1', price: { input: 0.15, output: 0.6 } }),
  endpoint('bedrock-us-profile', { region: 'us-east-1', scope: 'geography', price: { input: 0.15, output: 0.6 } }),
  endpoint('azure-eastus', { cloud: 'azure', region: 'eastus', price: { input: 0.4, output: 1.6 } }),
  endpoint('bedrock-eu-central-1', { region: 'eu-central-1', price: { input: 0.25, output: 1.25 } }),
  endpoint('bedrock-eu-profile', { region: 'eu-central-1', scope: 'geography', price: { input: 0.25, output: 1.25 } }),
  endpoint('azure-westeurope', { cloud: 'azure', region: 'westeurope', price: { input: 0.4, output: 1.6 } }),
  endpoint('azure-eu-datazone', { cloud: 'azure', region: 'westeurope', scope: 'geography', price: { input: 0.4, output: 1.6 } }),
  endpoint('bedrock-tokyo', { region: 'ap-northeast-1', price: { input: 0.2, output: 0.8 } }),
  endpoint('openai-global', { cloud: 'openai', region: undefined, scope: 'global', price: { input: 0.4, output: 1.6 } }),
];

function place(classification: string, datalocation: string | undefined, residency: Record<string, ResidencyRule>): { decision: PlacementDecision; error?: string } {
  const cfg = config({ models: catalogue, residency });
  const env = datalocation ? envelope({ datalocation }) : envelope({}, { transport: 'http', cloud: 'local', region: undefined });
  const e = explainRoute(createPlacer(cfg), route({ classification }), env);
  return { decision: e.decision, ...(e.error ? { error: e.error.code } : {}) };
}

const ids = (d: PlacementDecision) => d.ranked.map((r) => `${r.endpoint.id}@${r.tier}`);

describe('real-world placements', () => {
  interface Row {
    case: string;
    classification: string;
    at: string | undefined;
    residency: Record<string, ResidencyRule>;
    ranked?: string[];
    first?: string;
    last?: string;
    error?: string;
  }
  it.each<Row>([
    {
      case: 'EU PII from Frankfurt stays in eu-central-1 on AWS, never on a data zone',
      classification: 'pii', at: 'aws:eu-central-1', residency: { pii: sameRegion },
      ranked: ['bedrock-eu-central-1@0'],
    },
    {
      case: 'EU internal data from Frankfurt: regional first, then the EU profile, then Azure in the EU',
      classification: 'internal', at: 'aws:eu-central-1', residency: { internal: rules.sameGeography },
      // the two Azure endpoints tie on tier, distance and price: the id decides
      ranked: ['bedrock-eu-central-1@0', 'bedrock-eu-profile@1', 'azure-eu-datazone@2', 'azure-westeurope@2'],
    },
    {
      case: 'US data in us-east-1 prefers Bedrock in its own region over Azure eastus next door',
      classification: 'internal', at: 'aws:us-east-1', residency: { internal: rules.sameGeography },
      ranked: ['bedrock-us-east-1@0', 'bedrock-us-profile@1', 'azure-eastus@2'],
    },
    {
      case: 'US data on Azure eastus prefers Azure eastus, then Bedrock next door',
      classification: 'internal', at: 'azure:eastus', residency: { internal: rules.sameGeography },
      ranked: ['azure-eastus@0', 'bedrock-us-east-1@2', 'bedrock-us-profile@2'],
    },
    {
      case: 'Sydney data with no APAC endpoint: nothing under same-geography',
      classification: 'internal', at: 'aws:ap-southeast-2', residency: { internal: rules.sameGeography },
      ranked: [], error: 'PolicyViolation',
    },
    {
      case: 'Sydney public data goes to the nearest endpoint, Tokyo on the same cloud, the global API last',
      classification: 'public', at: 'aws:ap-southeast-2', residency: { public: rules.anywhere },
      first: 'bedrock-tokyo@3', last: 'openai-global@4',
    },
    {
      case: 'data-zone endpoints never satisfy same-region, even in their home region',
      classification: 'pii', at: 'azure:westeurope', residency: { pii: sameRegion },
      ranked: ['azure-westeurope@0'],
    },
    {
      case: 'unknown location: restricted data goes nowhere',
      classification: 'internal', at: undefined, residency: { internal: rules.sameGeography },
      ranked: [], error: 'PolicyViolation',
    },
    {
      case: 'unknown location: public data goes anywhere, all tier 4, cheapest first',
      classification: 'public', at: undefined, residency: { public: rules.anywhere },
      first: 'bedrock-us-east-1@4', last: 'openai-global@4',
    },
  ])('$case', ({ classification, at, residency, ranked, first, last, error }) => {
    // Act
    const placed = place(classification, at, residency);
    // Assess
    if (ranked) expect(ids(placed.decision)).toEqual(ranked);
    if (first) expect(ids(placed.decision)[0]).toBe(first);
    if (last) expect(ids(placed.decision).at(-1)).toBe(last);
    expect(placed.error).toBe(error);
    expect(placed.decision.ranked.length + placed.decision.rejected.length).toBe(catalogue.length);
  });

  it('says why the data-zone endpoint is refused under same-region', () => {
    const { decision } = place('pii', 'azure:westeurope', { pii: sameRegion });
    expect(decision.rejected).toContainEqual({ endpointId: 'azure-eu-datazone', reason: 'scope geography may be served outside westeurope' });
  });

  it('says why Sydney data may not go to Tokyo under same-geography', () => {
    const { decision } = place('internal', 'aws:ap-southeast-2', { internal: rules.sameGeography });
    expect(decision.rejected).toContainEqual({ endpointId: 'bedrock-tokyo', reason: 'data is in geography au; endpoint stays in jp' });
  });
});
