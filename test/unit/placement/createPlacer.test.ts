import { describe, expect, it } from 'vitest';
import { PolicyViolationError, type PlacementDecision } from '../../../shared/core/index.ts';
import { createPlacer } from '../../../shared/placement/index.ts';
import { config, envelope, route } from './fixtures.ts';

const ids = (d: PlacementDecision) => d.ranked.map((r) => r.endpoint.id);

function violation(act: () => unknown): PolicyViolationError {
  try {
    act();
  } catch (err) {
    if (err instanceof PolicyViolationError) return err;
    throw err;
  }
  throw new Error('expected a PolicyViolationError');
}

describe('createPlacer', () => {
  it('places US internal data on the nearest endpoint in the US, and says why the others were rejected', () => {
    // Act
    const decision = createPlacer(config()).place(route({ classification: 'internal' }), envelope());
    // Assess
    expect(decision).toMatchObject({ routeId: 'order-risk', classification: 'internal', location: { cloud: 'aws', region: 'us-east-1', from: 'origin' }, policy: 'internal: same-geography' });
    expect(ids(decision)).toEqual(['sim-bedrock-us-east-1', 'sim-azure-eastus']);
    expect(decision.rejected.map((r) => r.endpointId).sort()).toEqual(['sim-azure-westeurope', 'sim-bedrock-eu-central-1', 'sim-bedrock-eu-profile', 'sim-openai-global']);
  });

  it('keeps EU data in the EU, same cloud first, the cross-region profile after the regional endpoint', () => {
    const decision = createPlacer(config()).place(route({ classification: 'internal' }), envelope({ datalocation: 'aws:eu-central-1' }));
    expect(ids(decision)).toEqual(['sim-bedrock-eu-central-1', 'sim-bedrock-eu-profile', 'sim-azure-westeurope']);
    expect(decision.ranked.map((r) => r.tier)).toEqual([0, 1, 2]);
  });

  it('sends public data anywhere, ranked by nearness', () => {
    const decision = createPlacer(config()).place(route({ classification: 'public' }), envelope({ datalocation: 'azure:westeurope' }));
    expect(ids(decision)[0]).toBe('sim-azure-westeurope');
    expect(ids(decision).at(-1)).toBe('sim-openai-global');
    expect(decision.rejected).toEqual([]);
  });

  it('applies the route’s model allowlist', () => {
    const decision = createPlacer(config()).place(route({ classification: 'public' }, ['sim-openai-global', 'sim-azure-eastus']), envelope());
    expect(ids(decision)).toEqual(['sim-azure-eastus', 'sim-openai-global']);
    expect(decision.rejected).toContainEqual({ endpointId: 'sim-bedrock-us-east-1', reason: "not in the route's allowlist" });
  });

  it('applies a classification the event raises', () => {
    const decision = createPlacer(config()).place(route({ classification: 'public' }), envelope({ dataclassification: 'pii' }));
    expect(decision.classification).toBe('pii');
    expect(decision.policy).toBe("pii: same-region (raised from public by the event's dataclassification)");
    expect(ids(decision)).toEqual(['sim-bedrock-us-east-1']);
  });

  it('throws PolicyViolationError saying where the data is, the rule and why each endpoint was rejected', () => {
    // Prepare: pii data in a region with no endpoint
    const placer = createPlacer(config());
    // Act
    const err = violation(() => placer.place(route({ classification: 'pii' }), envelope({ datalocation: 'azure:swedencentral' })));
    // Assess
    expect(err.message).toContain('route order-risk for event e-1');
    expect(err.message).toContain('data at azure:swedencentral (from event)');
    expect(err.message).toContain('policy pii: same-region');
    expect(err.message).toContain('sim-azure-westeurope: endpoint is in westeurope, data in swedencentral');

    expect(err.retryable).toBe(false);
    // one clause per distinct reason, naming every endpoint it applies to
    expect(err.message).toContain('sim-bedrock-eu-profile, sim-bedrock-eu-central-1, sim-bedrock-us-east-1: endpoint is on aws, data on azure');
    expect(err.message.match(/data on aws|data on azure/g)).toHaveLength(2);
    expect(err.context).toMatchObject({ routeId: 'order-risk', eventId: 'e-1' });
    const placement = err.context.placement as PlacementDecision;
    expect(placement.ranked).toEqual([]);
    expect(placement.rejected).toHaveLength(config().models.length);
  });

  it('refuses every endpoint for restricted data whose location is unknown, and names the unreadable input', () => {
    const err = violation(() => createPlacer(config()).place(route({ classification: 'internal' }), envelope({ datalocation: 'westeurope' })));
    const placement = err.context.placement as PlacementDecision;
    expect(placement.location).toEqual({ cloud: 'unknown', from: 'event' });
    expect(placement.policy).toMatch(/^internal: same-geography; data location unknown: the event's datalocation "westeurope" is not <cloud>:<region>/);
    expect(err.message).toContain('data location is unknown and the rule requires same-geography');
  });

  it('still places public data whose location is unknown', () => {
    const decision = createPlacer(config()).place(route({ classification: 'public' }), envelope({}, { transport: 'http', cloud: 'local', region: undefined }));
    expect(decision.location).toEqual({ cloud: 'unknown', from: 'unknown' });
    expect(decision.ranked).toHaveLength(config().models.length);
  });

  it('refuses everything for a classification mesh.yaml does not define', () => {
    const err = violation(() => createPlacer(config()).place(route({ classification: 'internal' }), envelope({ dataclassification: 'top-secret' })));
    expect(err.message).toContain('top-secret');
    expect((err.context.placement as PlacementDecision).classification).toBe('top-secret');
  });
});
