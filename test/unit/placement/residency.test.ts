import { describe, expect, it } from 'vitest';
import type { DataLocation } from '../../../shared/core/index.ts';
import { allows, classify, describeRule } from '../../../shared/placement/index.ts';
import { config, endpoint, envelope, route, rules } from './fixtures.ts';

const inFrankfurt: DataLocation = { cloud: 'aws', region: 'eu-central-1', geography: 'eu', from: 'event' };
const unknown: DataLocation = { cloud: 'unknown', from: 'unknown' };

const awsFrankfurt = endpoint('aws-fra', { region: 'eu-central-1' });
const awsIreland = endpoint('aws-dub', { region: 'eu-west-1' });
const awsLondon = endpoint('aws-lon', { region: 'eu-west-2' });
const azureAmsterdam = endpoint('az-weu', { cloud: 'azure', region: 'westeurope' });
const euProfile = endpoint('eu-profile', { region: 'eu-central-1', scope: 'geography' });
const openaiGlobal = endpoint('openai', { cloud: 'openai', region: undefined, scope: 'global' });

describe('allows', () => {
  it('lets anything through under anywhere, even when the location is unknown', () => {
    expect(allows(rules.anywhere, unknown, openaiGlobal)).toEqual({ ok: true });
  });

  it('cloud same: only endpoints on the data’s cloud', () => {
    expect(allows(rules.sameCloud, inFrankfurt, endpoint('aws-tokyo', { region: 'ap-northeast-1' }))).toEqual({ ok: true });
    expect(allows(rules.sameCloud, inFrankfurt, azureAmsterdam)).toEqual({ ok: false, reason: 'endpoint is on azure, data on aws' });
  });

  it('region same: same cloud, same region and a region-scoped endpoint', () => {
    expect(allows(rules.sameRegion, inFrankfurt, awsFrankfurt)).toEqual({ ok: true });
    expect(allows(rules.sameRegion, inFrankfurt, awsIreland)).toEqual({ ok: false, reason: 'endpoint is in eu-west-1, data in eu-central-1' });
    expect(allows(rules.sameRegion, inFrankfurt, endpoint('az', { cloud: 'azure', region: 'germanywestcentral' })).ok).toBe(false);
  });

  it('region same: refuses a cross-region profile homed in the data’s region', () => {
    const verdict = allows(rules.sameRegion, inFrankfurt, euProfile);
    expect(verdict).toEqual({ ok: false, reason: 'scope geography may be served outside eu-central-1' });
  });

  it('geography same: any cloud whose region is in the data’s geography', () => {
    expect(allows(rules.sameGeography, inFrankfurt, azureAmsterdam)).toEqual({ ok: true });
    expect(allows(rules.sameGeography, inFrankfurt, endpoint('us', { region: 'us-east-1' }))).toEqual({ ok: false, reason: 'data is in geography eu; endpoint stays in us' });
  });

  it('geography same: an eu endpoint does not cover the UK or Switzerland', () => {
    const inLondon: DataLocation = { cloud: 'aws', region: 'eu-west-2', geography: 'uk', from: 'origin' };
    expect(allows(rules.sameGeography, inLondon, awsFrankfurt).ok).toBe(false);
    expect(allows(rules.sameGeography, inLondon, euProfile).ok).toBe(false);
    expect(allows(rules.sameGeography, inFrankfurt, awsLondon).ok).toBe(false);
    expect(allows(rules.sameGeography, inFrankfurt, endpoint('zrh', { cloud: 'azure', region: 'switzerlandnorth' })).ok).toBe(false);
  });

  it('geography same: a geography-scoped endpoint guarantees its home region’s geography', () => {
    const inStockholm: DataLocation = { cloud: 'aws', region: 'eu-north-1', geography: 'eu', from: 'origin' };
    expect(allows(rules.sameGeography, inStockholm, euProfile)).toEqual({ ok: true });
    expect(allows(rules.sameCloudAndGeography, inStockholm, euProfile)).toEqual({ ok: true });
  });

  it('geography same: a profile homed where the provider’s zone is wider guarantees no geography', () => {
    // A Bedrock apac profile homed in Tokyo may be served in Seoul, Mumbai or Sydney
    const inTokyo: DataLocation = { cloud: 'aws', region: 'ap-northeast-1', geography: 'jp', from: 'origin' };
    const apacProfile = endpoint('apac-profile', { region: 'ap-northeast-1', scope: 'geography' });
    const verdict = allows(rules.sameGeography, inTokyo, apacProfile);
    expect(!verdict.ok && verdict.reason).toMatch(/zone apac/);
    expect(allows(rules.sameGeography, inTokyo, endpoint('tokyo', { region: 'ap-northeast-1' }))).toEqual({ ok: true });
  });

  it('geography same: a global endpoint never guarantees a geography', () => {
    const verdict = allows(rules.sameGeography, inFrankfurt, openaiGlobal);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(/scope global/);
  });

  it('geography same: an endpoint in a region the table does not know guarantees nothing', () => {
    const verdict = allows(rules.sameGeography, inFrankfurt, endpoint('typo', { region: 'eu-centrall-1' }));
    expect(!verdict.ok && verdict.reason).toMatch(/not in the region table/);
  });

  it('geography same: an on-prem site’s geography comes from mesh.yaml sites', () => {
    const sites = config().sites;
    const atSite: DataLocation = { cloud: 'onprem', region: 'fra-dc1', geography: 'eu', from: 'event' };
    expect(allows(rules.sameGeography, atSite, azureAmsterdam, sites)).toEqual({ ok: true });
    expect(allows(rules.sameGeography, atSite, endpoint('onprem-gpu', { cloud: 'onprem', region: 'fra-dc1' }), sites)).toEqual({ ok: true });
  });

  it('satisfies no rule but anywhere when the location is unknown', () => {
    for (const rule of [rules.sameCloud, rules.sameGeography, rules.sameCloudAndGeography, rules.sameRegion]) {
      const verdict = allows(rule, unknown, awsFrankfurt);
      expect(verdict.ok).toBe(false);
      expect(!verdict.ok && verdict.reason).toMatch(/^data location is unknown/);
    }
  });
});

describe('describeRule', () => {
  it('names rules as mesh.yaml does', () => {
    expect([rules.anywhere, rules.sameGeography, rules.sameCloud, rules.sameRegion, rules.sameCloudAndGeography].map(describeRule)).toEqual([
      'anywhere',
      'same-geography',
      'same-cloud',
      'same-region',
      'same-cloud, same-geography',
    ]);
  });
});

describe('classify', () => {
  it('uses the route’s classification when the event says nothing', () => {
    expect(classify(route({ classification: 'internal' }), envelope(), config())).toEqual({ name: 'internal', rule: rules.sameGeography });
  });

  it('raises the classification when the event names one ranked higher in mesh.yaml', () => {
    const c = classify(route({ classification: 'internal' }), envelope({ dataclassification: 'pii' }), config());
    expect(c).toMatchObject({ name: 'pii', rule: rules.sameRegion });
    expect(c.note).toBe("raised from internal by the event's dataclassification");
  });

  it('never lowers the classification', () => {
    const c = classify(route({ classification: 'confidential' }), envelope({ dataclassification: 'public' }), config());
    expect(c).toEqual({ name: 'confidential', rule: rules.sameCloudAndGeography });
  });

  it('ranks by the order of keys in mesh.yaml residency, least restrictive first', () => {
    // Prepare: the same names in the opposite order make `public` the most restrictive
    const reversed = config({ residency: { pii: rules.sameRegion, public: rules.anywhere } });
    expect(classify(route({ classification: 'pii' }), envelope({ dataclassification: 'public' }), reversed).name).toBe('public');
  });

  it('fails closed on a classification mesh.yaml does not define', () => {
    const c = classify(route({ classification: 'internal' }), envelope({ dataclassification: 'top-secret' }), config());
    expect(c.rule).toBeUndefined();
    expect(c.note).toMatch(/not in mesh.yaml residency/);
  });
});
