import { describe, expect, it } from 'vitest';
import { GEOGRAPHIES, greatCircleKm, lookupRegion, REGIONS } from '../../../shared/placement/index.ts';

describe('lookupRegion', () => {
  it('finds AWS and Azure regions by the names the clouds use', () => {
    expect(lookupRegion('aws', 'us-east-1')).toMatchObject({ cloud: 'aws', geography: 'us' });
    expect(lookupRegion('aws', 'eu-central-1')).toMatchObject({ geography: 'eu', city: 'Frankfurt' });
    expect(lookupRegion('azure', 'westeurope')).toMatchObject({ cloud: 'azure', geography: 'eu' });
    expect(lookupRegion('azure', 'swedencentral')?.geography).toBe('eu');
  });

  it('keeps the UK and Switzerland out of the eu geography', () => {
    expect(['eu-west-2', 'eu-central-2'].map((r) => lookupRegion('aws', r)?.geography)).toEqual(['uk', 'ch']);
    expect(['uksouth', 'ukwest', 'switzerlandnorth', 'switzerlandwest'].map((r) => lookupRegion('azure', r)?.geography)).toEqual(['uk', 'uk', 'ch', 'ch']);
  });

  it('does not confuse one cloud’s names with the other’s', () => {
    expect(lookupRegion('azure', 'us-east-1')).toBeUndefined();
    expect(lookupRegion('aws', 'westeurope')).toBeUndefined();
    expect(lookupRegion('openai', 'us-east-1')).toBeUndefined();
    expect(lookupRegion('aws', 'us-east-9')).toBeUndefined();
  });

  it('gives every region a documented geography and plausible coordinates', () => {
    const codes = new Set(Object.keys(GEOGRAPHIES));
    const bad = REGIONS.filter((r) => !codes.has(r.geography) || Math.abs(r.lat) > 90 || Math.abs(r.lon) > 180);
    expect(bad).toEqual([]);
    expect(REGIONS.filter((r) => r.cloud === 'aws').length).toBeGreaterThan(30);
    expect(REGIONS.filter((r) => r.cloud === 'azure').length).toBeGreaterThan(50);
  });

  it('lists each region once per cloud', () => {
    const keys = REGIONS.map((r) => `${r.cloud}:${r.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('greatCircleKm', () => {
  it('measures known city pairs within a few kilometres', () => {
    // London–Paris ≈ 344 km, Frankfurt–Amsterdam ≈ 364 km, New York–London ≈ 5570 km
    expect(greatCircleKm({ lat: 51.51, lon: -0.13 }, { lat: 48.86, lon: 2.35 })).toBeCloseTo(344, -1);
    expect(greatCircleKm(lookupRegion('aws', 'eu-central-1')!, lookupRegion('azure', 'westeurope')!)).toBeCloseTo(364, -1);
    expect(greatCircleKm({ lat: 40.71, lon: -74.01 }, { lat: 51.51, lon: -0.13 })).toBeCloseTo(5570, -2);
  });

  it('is zero for the same point and symmetric', () => {
    const tokyo = lookupRegion('aws', 'ap-northeast-1')!;
    const sydney = lookupRegion('aws', 'ap-southeast-2')!;
    expect(greatCircleKm(tokyo, tokyo)).toBe(0);
    expect(greatCircleKm(tokyo, sydney)).toBeCloseTo(greatCircleKm(sydney, tokyo), 6);
  });

  it('takes the short way across the antimeridian', () => {
    expect(greatCircleKm({ lat: 0, lon: 179.5 }, { lat: 0, lon: -179.5 })).toBeLessThan(120);
  });
});
