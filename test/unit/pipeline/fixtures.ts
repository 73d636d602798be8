import {
  PolicyViolationError,
  type Destination,
  type Envelope,
  type MeshConfig,
  type ModelEndpoint,
  type PlacementDecision,
  type Placer,
  type Publisher,
  type PublishOutcome,
  type Route,
  PublishFailedError,
  PayloadTooLargeError,
} from '../../../shared/core/index.ts';

export function endpoint(id: string, region = 'us-east-1'): ModelEndpoint {
  return { id, provider: 'scripted' as ModelEndpoint['provider'], cloud: 'aws', region, scope: 'region', model: 'm', price: { input: 1, output: 2 }, capabilities: ['json'], options: {} };
}

export const endpoints = [endpoint('near', 'us-east-1'), endpoint('far', 'us-west-2')];

export function route(overrides: Partial<Route> = {}, task: Partial<Route['task']> = {}): Route {
  return {
    id: 'order-risk',
    file: 'events/routes/order-risk.yaml',
    match: { source: ['com.acme.orders'] },
    data: { classification: 'internal' },
    task: {
      system: 'You score orders.',
      prompt: 'Score order {{detail.orderId}} of {{detail.total}}',
      output: { type: 'object', required: ['score'], properties: { score: { type: 'number' } } },
      validateOutput: (v) => (v !== null && typeof v === 'object' && typeof (v as { score?: unknown }).score === 'number' ? [] : ['/score: must be number']),
      maxTokens: 100,
      timeoutMs: 10_000,
      attemptsPerEndpoint: 2,
      ...task,
    },
    emit: { source: 'nearmesh.order-risk', detailType: 'OrderRiskScored', to: [] },
    ...overrides,
  };
}

export function config(): MeshConfig {
  return {
    file: 'mesh.yaml',
    models: endpoints,
    residency: { internal: { cloud: 'any', geography: 'same', region: 'any' }, secret: { cloud: 'same', geography: 'same', region: 'same' } },
    sources: {},
    destinations: { audit: { name: 'audit', kind: 'local' } },
    sites: {},
    seed: 1,
  };
}

/** Ranks the catalogue in order; the `secret` classification is allowed nowhere. */
export const fakePlacer: Placer = {
  place(r, envelope): PlacementDecision {
    const decision: PlacementDecision = {
      routeId: r.id,
      classification: r.data.classification,
      location: { cloud: 'aws', region: 'us-east-1', from: 'origin' },
      policy: `${r.data.classification}: test`,
      ranked: r.data.classification === 'secret' ? [] : endpoints.map((e, i) => ({ endpoint: e, tier: i, distanceKm: i * 1000, reason: `tier ${i}` })),
      rejected: r.data.classification === 'secret' ? endpoints.map((e) => ({ endpointId: e.id, reason: 'secret stays home' })) : [],
    };
    if (decision.ranked.length === 0) {
      throw new PolicyViolationError('no endpoint allowed', { context: { routeId: r.id, eventId: envelope.event.id, placement: decision } });
    }
    return decision;
  },
};

export class RecordingPublisher implements Publisher {
  readonly published: Array<{ destination: Destination; envelope: Envelope }> = [];
  failNext = 0;
  rejectNext = 0;

  async publish(destination: Destination, events: Envelope[]): Promise<PublishOutcome[]> {
    return events.map((envelope) => {
      if (this.rejectNext > 0) {
        this.rejectNext--;
        return { id: envelope.event.id, ok: false as const, error: new PayloadTooLargeError('entry over 256 KB') };
      }
      if (this.failNext > 0) {
        this.failNext--;
        return { id: envelope.event.id, ok: false as const, error: new PublishFailedError('bus unavailable') };
      }
      this.published.push({ destination, envelope });
      return { id: envelope.event.id, ok: true as const };
    });
  }
}

export function orderEvent(id = 'e-1', detail: Record<string, unknown> = { orderId: 'A-1', total: 120 }): Envelope {
  return {
    event: { specversion: '1.0', id, source: 'com.acme.orders', type: 'OrderPlaced', time: '2026-11-22T07:59:00Z', data: detail, extensions: {} },
    origin: { transport: 'eventbridge', cloud: 'aws', region: 'us-east-1', account: '111122223333', bus: 'orders' },
  };
}
