import { describe, expect, it } from 'vitest';
import { createPlacer, formatPlacement, summarizePlacement } from '../../../shared/placement/index.ts';
import { config, envelope, route } from './fixtures.ts';

const usInternal = () => createPlacer(config()).place(route({ classification: 'internal' }), envelope());

describe('summarizePlacement', () => {
  it('says in one line where the data is, the rule and the choice', () => {
    expect(summarizePlacement(usInternal())).toBe('data aws:us-east-1 (from origin) · internal: same-geography → sim-bedrock-us-east-1 (tier 0, 0 km)');
  });

  it('says when the distance or the location is unknown', () => {
    const decision = createPlacer(config()).place(route({ classification: 'public' }, ['sim-openai-global']), envelope({}, { transport: 'http', cloud: 'local', region: undefined }));
    expect(summarizePlacement(decision)).toBe('data unknown (from unknown) · public: anywhere → sim-openai-global (tier 4, distance unknown)');
  });
});

describe('formatPlacement', () => {
  it('lists the data, the policy, each allowed endpoint in order and each rejection with its reason', () => {
    // Act
    const text = formatPlacement(usInternal());
    // Assess
    const lines = text.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'route order-risk · classification internal',
      '  data     aws:us-east-1 (from origin), geography us',
      '  policy   internal: same-geography',
      '  allowed  1. sim-bedrock-us-east-1 — tier 0: same cloud and region (aws us-east-1), 0 km',
      '  allowed  2. sim-azure-eastus — tier 2: other cloud, same geography us (azure eastus), 276 km',
    ]);
    expect(lines).toContain('  rejected sim-azure-westeurope — data is in geography us; endpoint stays in eu');
    expect(lines.at(-1)).toBe('  chosen   sim-bedrock-us-east-1');
    expect(lines).toHaveLength(5 + 4 + 1);
  });

  it('says where the classification came from when given the route', () => {
    const raised = createPlacer(config()).place(route({ classification: 'internal' }), envelope({ dataclassification: 'confidential' }));
    expect(formatPlacement(usInternal(), route({ classification: 'internal' })).split('\n')[0]).toBe('route order-risk · classification internal (from route)');
    expect(formatPlacement(raised, route({ classification: 'internal' })).split('\n')[0]).toBe("route order-risk · classification confidential (from the event's dataclassification)");
  });

  it('lists endpoints skipped for an open circuit apart from the rejected ones', () => {
    const decision = usInternal();
    const skipped = { ...decision, ranked: decision.ranked.slice(1), skipped: [{ endpointId: 'sim-bedrock-us-east-1', reason: 'circuit open until 2026-11-22T08:00:30.000Z', until: '2026-11-22T08:00:30.000Z' }] };
    const lines = formatPlacement(skipped).split('\n');
    expect(lines).toContain('  skipped  sim-bedrock-us-east-1 — circuit open until 2026-11-22T08:00:30.000Z');
    expect(lines.at(-1)).toBe('  chosen   sim-azure-eastus');
    expect(summarizePlacement(skipped)).toBe('data aws:us-east-1 (from origin) · internal: same-geography → sim-azure-eastus (tier 2, 276 km) (circuit open: sim-bedrock-us-east-1)');
  });

  it('says plainly when nothing is allowed', () => {
    const decision = { ...usInternal(), ranked: [] };
    expect(formatPlacement(decision)).toContain('allowed  none — no model call is made');
    expect(formatPlacement(decision)).toContain('chosen   none');
  });
});
