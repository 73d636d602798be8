import { describe, expect, it } from 'vitest';
import type { DataLocation } from '../../../shared/core/index.ts';
import { rankEndpoints, screenEndpoints } from '../../../shared/placement/index.ts';
import { catalogue, endpoint, rules } from './fixtures.ts';

const inUsEast1: DataLocation = { cloud: 'aws', region: 'us-east-1', geography: 'us', from: 'origin' };
const inFrankfurtAws: DataLocation = { cloud: 'aws', region: 'eu-central-1', geography: 'eu', from: 'event' };
const ids = (ranked: Array<{ endpoint: { id: string } }>) => ranked.map((r) => r.endpoint.id);

describe('rankEndpoints', () => {
  it('orders by tier: same region, same cloud and geography, other cloud same geography, same cloud elsewhere, the rest', () => {
    // Prepare: one endpoint per tier, listed worst first
    const endpoints = [
      endpoint('t4', { cloud: 'azure', region: 'eastus' }),
      endpoint('t3', { cloud: 'aws', region: 'us-east-1' }),
      endpoint('t2', { cloud: 'azure', region: 'westeurope' }),
      endpoint('t1', { cloud: 'aws', region: 'eu-west-1' }),
      endpoint('t0', { cloud: 'aws', region: 'eu-central-1' }),
    ];
    // Act
    const ranked = rankEndpoints(endpoints, inFrankfurtAws);
    // Assess
    expect(ranked.map((r) => [r.endpoint.id, r.tier])).toEqual([['t0', 0], ['t1', 1], ['t2', 2], ['t3', 3], ['t4', 4]]);
  });

  it('puts a nearer endpoint of a worse tier after a farther one of a better tier', () => {
    // azure westeurope (≈ 364 km) is nearer than aws eu-north-1 (≈ 1200 km), but another cloud
    const ranked = rankEndpoints([endpoint('azure-weu', { cloud: 'azure', region: 'westeurope' }), endpoint('aws-sto', { region: 'eu-north-1' })], inFrankfurtAws);
    expect(ids(ranked)).toEqual(['aws-sto', 'azure-weu']);
  });

  it('orders within a tier by great-circle distance from the data', () => {
    const endpoints = [endpoint('oregon', { region: 'us-west-2' }), endpoint('ohio', { region: 'us-east-2' }), endpoint('california', { region: 'us-west-1' })];
    const ranked = rankEndpoints(endpoints, inUsEast1);
    expect(ids(ranked)).toEqual(['ohio', 'oregon', 'california']);
    expect(ranked[0]!.distanceKm).toBeGreaterThan(400);
    expect(ranked[0]!.distanceKm).toBeLessThan(700);
  });

  it('breaks a distance tie by total price, then by id', () => {
    const endpoints = [
      endpoint('b-cheap', { price: { input: 0.1, output: 0.2 } }),
      endpoint('c-dear', { price: { input: 1, output: 2 } }),
      endpoint('a-cheap', { price: { input: 0.2, output: 0.1 } }),
    ];
    expect(ids(rankEndpoints(endpoints, inUsEast1))).toEqual(['a-cheap', 'b-cheap', 'c-dear']);
  });

  it('never puts a geography-scope endpoint in tier 0, and measures it from its home region', () => {
    const [profile] = rankEndpoints([endpoint('eu-profile', { region: 'eu-central-1', scope: 'geography' })], inFrankfurtAws);
    expect(profile).toMatchObject({ tier: 1, distanceKm: 0 });
    expect(profile!.reason).toBe('tier 1: same cloud, same geography eu (aws eu-central-1, scope geography), 0 km');
  });

  it('sorts a global endpoint last within its tier, with no distance', () => {
    const global = endpoint('a-global', { cloud: 'azure', region: undefined, scope: 'global' });
    const ranked = rankEndpoints([global, endpoint('z-far', { cloud: 'azure', region: 'australiaeast' })], inUsEast1);
    expect(ranked.map((r) => [r.endpoint.id, r.tier, r.distanceKm === null])).toEqual([['z-far', 4, false], ['a-global', 4, true]]);
    expect(ranked[1]!.reason).toBe('tier 4: scope global may be served anywhere (azure, scope global), distance unknown');
  });

  it('puts a global endpoint in tier 4 even on the data’s own cloud, after a same-cloud endpoint on another continent', () => {
    // Without the rule a global Bedrock profile would be tier 3 and tie with Sydney on tier
    const ranked = rankEndpoints([endpoint('aws-global', { region: 'us-east-1', scope: 'global' }), endpoint('sydney', { region: 'ap-southeast-2' })], inUsEast1);
    expect(ranked.map((r) => [r.endpoint.id, r.tier])).toEqual([['sydney', 3], ['aws-global', 4]]);
  });

  it('gives a global deployment no distance even when it names a resource region', () => {
    // An Azure Global Standard deployment lives in a resource region but may be served anywhere
    const globalInEastUs = endpoint('global-eastus', { cloud: 'azure', region: 'eastus', scope: 'global' });
    const ranked = rankEndpoints([globalInEastUs, endpoint('sydney', { cloud: 'azure', region: 'australiaeast' })], inUsEast1);
    expect(ranked.map((r) => [r.endpoint.id, r.distanceKm])).toEqual([['sydney', expect.any(Number)], ['global-eastus', null]]);
  });

  it('puts everything in tier 4 when the data location is unknown, cheapest first', () => {
    const ranked = rankEndpoints(catalogue, { cloud: 'unknown', from: 'unknown' });
    expect(new Set(ranked.map((r) => r.tier))).toEqual(new Set([4]));
    expect(ranked[0]!.endpoint.id).toBe('sim-bedrock-us-east-1');
    expect(ranked.every((r) => r.distanceKm === null)).toBe(true);
  });

  it('explains each rank in words a human can read', () => {
    const ranked = rankEndpoints([endpoint('here'), endpoint('weu', { cloud: 'azure', region: 'westeurope' })], inUsEast1);
    expect(ranked[0]!.reason).toBe('tier 0: same cloud and region (aws us-east-1), 0 km');
    expect(ranked[1]!.reason).toMatch(/^tier 4: other cloud, other geography eu \(azure westeurope\), \d+ km$/);
  });

  it('measures from an on-prem site to cloud regions', () => {
    const atSite: DataLocation = { cloud: 'onprem', region: 'fra-dc1', geography: 'eu', from: 'event' };
    const sites = { 'fra-dc1': { name: 'fra-dc1', lat: 50.11, lon: 8.68, geography: 'eu' } };
    const ranked = rankEndpoints([endpoint('weu', { cloud: 'azure', region: 'westeurope' }), endpoint('fra', { region: 'eu-central-1' })], atSite, sites);
    expect(ranked.map((r) => [r.endpoint.id, r.tier, Math.round(r.distanceKm ?? -1)])).toEqual([['fra', 2, 0], ['weu', 2, 364]]);
  });
});

describe('rankEndpoints with the nearest strategy', () => {
  const azureNextDoor = endpoint('azure-eastus', { cloud: 'azure', region: 'eastus' });
  const awsOhio = endpoint('aws-ohio', { region: 'us-east-2' });

  it('orders by distance alone, ignoring tiers, and still reports each tier', () => {
    // Prepare: azure eastus (≈ 276 km) is tier 2, aws us-east-2 (≈ 500 km) tier 1
    // Act
    const ranked = rankEndpoints([awsOhio, azureNextDoor], inUsEast1, {}, { strategy: 'nearest' });
    // Assess
    expect(ranked.map((r) => [r.endpoint.id, r.tier])).toEqual([['azure-eastus', 2], ['aws-ohio', 1]]);
    expect(ids(rankEndpoints([awsOhio, azureNextDoor], inUsEast1))).toEqual(['aws-ohio', 'azure-eastus']);
  });

  it('adds the cross-cloud penalty to endpoints on another cloud, and says so', () => {
    const ranked = rankEndpoints([azureNextDoor, awsOhio], inUsEast1, {}, { strategy: 'nearest', crossCloudPenaltyKm: 500 });
    expect(ids(ranked)).toEqual(['aws-ohio', 'azure-eastus']);
    expect(ranked[1]!.reason).toMatch(/^tier 2: other cloud, same geography us \(azure eastus\), 27\d km \+ 500 km cross-cloud penalty$/);
    expect(ranked[1]!.distanceKm).toBeLessThan(300);
  });

  it('ignores the penalty under data-gravity', () => {
    const ranked = rankEndpoints([azureNextDoor], inUsEast1, {}, { strategy: 'data-gravity', crossCloudPenaltyKm: 500 });
    expect(ranked[0]!.reason).not.toContain('penalty');
  });

  it('puts endpoints with no distance last, cheapest first', () => {
    const global = endpoint('global', { cloud: 'openai', region: undefined, scope: 'global', price: { input: 0, output: 0 } });
    const ranked = rankEndpoints([global, endpoint('sydney', { region: 'ap-southeast-2' })], inUsEast1, {}, { strategy: 'nearest' });
    expect(ids(ranked)).toEqual(['sydney', 'global']);
  });
});

describe('screenEndpoints', () => {
  it('rejects an endpoint that lacks a capability the route needs', () => {
    const chatOnly = endpoint('chat-only', { capabilities: ['chat'] });
    const out = screenEndpoints([chatOnly, endpoint('json')], { requires: ['json'], rule: rules.anywhere, location: inUsEast1, sites: {} });
    expect(ids(out.ranked)).toEqual(['json']);
    expect(out.rejected).toEqual([{ endpointId: 'chat-only', reason: 'lacks capability json, which the route needs' }]);
  });

  it("rejects endpoints outside the route's allowlist before applying the rule", () => {
    const out = screenEndpoints(catalogue, { allowlist: ['sim-azure-eastus'], rule: rules.anywhere, location: inUsEast1, sites: {} });
    expect(ids(out.ranked)).toEqual(['sim-azure-eastus']);
    expect(out.rejected).toHaveLength(catalogue.length - 1);
    expect(new Set(out.rejected.map((r) => r.reason))).toEqual(new Set(["not in the route's allowlist"]));
  });

  it('rejects what the rule forbids, with the reason the rule gives', () => {
    const out = screenEndpoints(catalogue, { rule: rules.sameRegion, location: inUsEast1, sites: {} });
    expect(ids(out.ranked)).toEqual(['sim-bedrock-us-east-1']);
    expect(out.rejected).toContainEqual({ endpointId: 'sim-azure-eastus', reason: 'endpoint is on azure, data on aws' });
    expect(out.rejected).toContainEqual({ endpointId: 'sim-bedrock-eu-central-1', reason: 'endpoint is in eu-central-1, data in us-east-1' });
  });

  it('rejects everything when the classification has no rule, saying why', () => {
    const out = screenEndpoints(catalogue, { rule: undefined, ruleProblem: 'classification "secret" is not in mesh.yaml residency', location: inUsEast1, sites: {} });
    expect(out.ranked).toEqual([]);
    expect(out.rejected[0]!.reason).toBe('classification "secret" is not in mesh.yaml residency');
  });
});
