import type { Envelope, ExtensionValue, MeshConfig, ModelEndpoint, Origin, ResidencyRule, Route } from '../../../shared/core/index.ts';

/** A catalogue endpoint; region scope on AWS unless told otherwise. */
export function endpoint(id: string, overrides: Partial<ModelEndpoint> = {}): ModelEndpoint {
  return {
    id,
    provider: 'simulated',
    cloud: 'aws',
    region: 'us-east-1',
    scope: 'region',
    model: 'm',
    price: { input: 1, output: 1 },
    capabilities: ['json'],
    options: {},
    ...overrides,
  };
}

export const rules = {
  anywhere: { cloud: 'any', geography: 'any', region: 'any' },
  sameGeography: { cloud: 'any', geography: 'same', region: 'any' },
  sameCloud: { cloud: 'same', geography: 'any', region: 'any' },
  sameCloudAndGeography: { cloud: 'same', geography: 'same', region: 'any' },
  sameRegion: { cloud: 'same', geography: 'any', region: 'same' },
} satisfies Record<string, ResidencyRule>;

/** The demo catalogue of mesh.yaml, in a shuffled order so ranking has work to do. */
export const catalogue: ModelEndpoint[] = [
  endpoint('sim-openai-global', { cloud: 'openai', region: undefined, scope: 'global', price: { input: 0.4, output: 1.6 } }),
  endpoint('sim-azure-westeurope', { cloud: 'azure', region: 'westeurope', price: { input: 0.4, output: 1.6 } }),
  endpoint('sim-bedrock-eu-profile', { region: 'eu-central-1', scope: 'geography', price: { input: 0.25, output: 1.25 } }),
  endpoint('sim-azure-eastus', { cloud: 'azure', region: 'eastus', price: { input: 0.4, output: 1.6 } }),
  endpoint('sim-bedrock-eu-central-1', { region: 'eu-central-1', price: { input: 0.25, output: 1.25 } }),
  endpoint('sim-bedrock-us-east-1', { region: 'us-east-1', price: { input: 0.15, output: 0.6 } }),
];

/** Classifications least to most restrictive, as in mesh.yaml. */
export function config(overrides: Partial<MeshConfig> = {}): MeshConfig {
  return {
    file: 'mesh.yaml',
    models: catalogue,
    residency: { public: rules.anywhere, internal: rules.sameGeography, confidential: rules.sameCloudAndGeography, pii: rules.sameRegion },
    sources: { 'acme-support': { cloud: 'azure', region: 'westeurope' } },
    destinations: {},
    sites: { 'fra-dc1': { name: 'fra-dc1', lat: 50.11, lon: 8.68, geography: 'eu' } },
    seed: 1,
    ...overrides,
  };
}

export function route(data: Partial<Route['data']> = {}, models?: string[]): Route {
  return {
    id: 'order-risk',
    file: 'events/routes/order-risk.yaml',
    match: { source: ['com.acme.orders'] },
    data: { classification: 'internal', ...data },
    task: {
      prompt: 'Score {{detail.orderId}}',
      output: { type: 'object' },
      validateOutput: () => [],
      maxTokens: 100,
      timeoutMs: 10_000,
      attemptsPerEndpoint: 1,
      ...(models ? { models } : {}),
    },
    emit: { source: 'nearmesh.order-risk', detailType: 'OrderRiskScored', to: [] },
  };
}

/** An order event that arrived on EventBridge in us-east-1, unless the origin says otherwise. */
export function envelope(
  extensions: Record<string, ExtensionValue> = {},
  origin: Partial<Origin> = {},
  detail: Record<string, unknown> = { orderId: 'A-1' },
): Envelope {
  return {
    event: { specversion: '1.0', id: 'e-1', source: 'com.acme.orders', type: 'OrderPlaced', data: detail, extensions },
    origin: { transport: 'eventbridge', cloud: 'aws', region: 'us-east-1', account: '111122223333', ...origin },
  };
}
