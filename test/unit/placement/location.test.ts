import { describe, expect, it } from 'vitest';
import { resolveDataLocation } from '../../../shared/placement/index.ts';
import { config, envelope, route } from './fixtures.ts';

describe('resolveDataLocation', () => {
  it('takes the route’s location over an event claiming another, and names the claim it ignored', () => {
    // Prepare: all three say something different; the route does not trust the event
    const r = route({ location: 'aws:eu-west-1' });
    const e = envelope({ datalocation: 'azure:westeurope' }, { cloud: 'aws', region: 'us-east-1' });
    // Act
    const location = resolveDataLocation(r, e, config());
    // Assess
    expect(location).toEqual({
      cloud: 'aws',
      region: 'eu-west-1',
      geography: 'eu',
      from: 'route',
      ignored: 'the event\'s datalocation "azure:westeurope" (route data.location is authoritative; data.trustEventLocation is not set)',
    });
  });

  it('takes the event’s datalocation over the route’s when the route trusts it', () => {
    const r = route({ location: 'aws:eu-west-1', trustEventLocation: true });
    const e = envelope({ datalocation: 'azure:westeurope' }, { cloud: 'aws', region: 'us-east-1' });
    expect(resolveDataLocation(r, e, config())).toEqual({ cloud: 'azure', region: 'westeurope', geography: 'eu', from: 'event' });
  });

  it('takes the event’s datalocation over the origin when the route declares no location', () => {
    const e = envelope({ datalocation: 'azure:westeurope' }, { cloud: 'aws', region: 'us-east-1' });
    expect(resolveDataLocation(route(), e, config())).toEqual({ cloud: 'azure', region: 'westeurope', geography: 'eu', from: 'event' });
  });

  it('ignores the event’s datalocation for the origin when a route without a location says not to trust it', () => {
    const e = envelope({ datalocation: 'azure:westeurope' }, { cloud: 'aws', region: 'us-east-1' });
    const location = resolveDataLocation(route({ trustEventLocation: false }), e, config());
    expect(location).toMatchObject({ cloud: 'aws', region: 'us-east-1', from: 'origin' });
    expect(location.ignored).toContain('data.trustEventLocation: false');
  });

  it('keeps the route authoritative when its template cannot be rendered: unknown, not the event’s claim', () => {
    const location = resolveDataLocation(route({ location: '{{detail.location}}' }), envelope({ datalocation: 'aws:us-east-1' }), config());
    expect(location).toMatchObject({ cloud: 'unknown', from: 'route' });
    expect(location.ignored).toContain('aws:us-east-1');
  });

  it('takes the route’s fixed location over the origin', () => {
    expect(resolveDataLocation(route({ location: 'aws:eu-west-1' }), envelope(), config())).toEqual({ cloud: 'aws', region: 'eu-west-1', geography: 'eu', from: 'route' });
  });

  it('resolves a route location template over the EventBridge view of the event', () => {
    const fromRegion = resolveDataLocation(route({ location: 'aws:{{region}}' }), envelope({}, { region: 'ap-northeast-1' }), config());
    const fromDetail = resolveDataLocation(route({ location: '{{detail.location}}' }), envelope({}, {}, { location: 'azure:uksouth' }), config());
    expect(fromRegion).toEqual({ cloud: 'aws', region: 'ap-northeast-1', geography: 'jp', from: 'route' });
    expect(fromDetail).toEqual({ cloud: 'azure', region: 'uksouth', geography: 'uk', from: 'route' });
  });

  it('treats a template field the event lacks as an unknown location, not an error', () => {
    const location = resolveDataLocation(route({ location: '{{detail.location}}' }), envelope(), config());
    expect(location).toMatchObject({ cloud: 'unknown', from: 'route' });
    expect(location.problem).toContain('detail.location');
  });

  it('falls back to the origin’s cloud and region', () => {
    expect(resolveDataLocation(route(), envelope({}, { cloud: 'azure', region: 'swedencentral', transport: 'servicebus' }), config())).toEqual({
      cloud: 'azure',
      region: 'swedencentral',
      geography: 'eu',
      from: 'origin',
    });
  });

  it('finds a Service Bus namespace’s region in mesh.yaml sources, short name or FQDN', () => {
    const origin = { transport: 'servicebus' as const, cloud: 'azure' as const, region: undefined };
    const short = resolveDataLocation(route(), envelope({}, { ...origin, namespace: 'acme-support' }), config());
    const fqdn = resolveDataLocation(route(), envelope({}, { ...origin, namespace: 'acme-support.servicebus.windows.net' }), config());
    expect(short).toEqual({ cloud: 'azure', region: 'westeurope', geography: 'eu', from: 'source' });
    expect(fqdn).toEqual(short);
  });

  it('says unknown when nothing tells where the data is', () => {
    const e = envelope({}, { transport: 'http', cloud: 'local', region: undefined, namespace: 'not-configured' });
    expect(resolveDataLocation(route(), e, config())).toEqual({ cloud: 'unknown', from: 'unknown' });
  });

  it('accepts an Azure display name and reports the region as the API spells it', () => {
    expect(resolveDataLocation(route(), envelope({ datalocation: 'azure:West Europe' }), config())).toMatchObject({ cloud: 'azure', region: 'westeurope', from: 'event' });
  });

  it('says unknown, with the reason, when the origin names a region the table does not know', () => {
    const location = resolveDataLocation(route(), envelope({}, { region: 'us-gov-west-1' }), config());
    expect(location).toMatchObject({ cloud: 'unknown', from: 'origin' });
    expect(location.problem).toMatch(/us-gov-west-1/);
  });

  it('resolves an on-prem site from mesh.yaml sites', () => {
    expect(resolveDataLocation(route(), envelope({ datalocation: 'onprem:fra-dc1' }), config())).toEqual({ cloud: 'onprem', region: 'fra-dc1', geography: 'eu', from: 'event' });
  });

  it.each([
    ['no colon', 'eu-central-1', /not <cloud>:<region>/],
    ['an unknown cloud', 'gcp:europe-west3', /cloud "gcp"/],
    ['an unknown region', 'aws:eu-central-9', /no aws region "eu-central-9"/],
    ['an unknown site', 'onprem:ber-dc2', /no site "ber-dc2"/],
  ])('makes a datalocation with %s unknown, with the reason, instead of guessing from the origin', (_what, value, reason) => {
    const location = resolveDataLocation(route({ location: 'aws:us-east-1', trustEventLocation: true }), envelope({ datalocation: value }), config());
    expect(location).toMatchObject({ cloud: 'unknown', from: 'event' });
    expect(location.region).toBeUndefined();
    expect(location.problem).toMatch(reason);
  });
});
