import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatConfigIssue } from '../../../shared/core/index.ts';
import { loadMeshConfig } from '../../../shared/config/index.ts';
import { createPlacer } from '../../../shared/placement/index.ts';
import { envelope, route } from './fixtures.ts';

/* mesh.yaml `placement`: the ranking strategy and the circuit breaker, validated at load. */

const BASE = `models:
  - { id: aws-ohio, provider: simulated, cloud: aws, region: us-east-2 }
  - { id: azure-eastus, provider: simulated, cloud: azure, region: eastus }
residency:
  internal: same-geography
`;

async function load(placement: string) {
  const dir = await mkdtemp(join(tmpdir(), 'mesh-placement-'));
  const file = join(dir, 'mesh.yaml');
  await writeFile(file, BASE + placement);
  return loadMeshConfig(file);
}

async function problems(placement: string): Promise<string[]> {
  const err = await load(placement).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).issues.map(formatConfigIssue);
}

describe('mesh.yaml placement', () => {
  it('defaults to data-gravity with a 5-failure circuit when absent', async () => {
    const config = await load('');
    expect(config.placement).toEqual({ strategy: 'data-gravity', crossCloudPenaltyKm: 0, circuit: { failures: 5, windowMs: 60_000, cooldownMs: 30_000 } });
  });

  it('selects the nearest strategy, which the placer then uses', async () => {
    // Prepare: us-east-1 data; azure eastus is nearer (≈ 276 km) than aws us-east-2 (≈ 500 km) but another cloud
    const nearest = await load('placement: { strategy: nearest }\n');
    const penalised = await load('placement: { strategy: nearest, crossCloudPenaltyKm: 500 }\n');
    const gravity = await load('');
    const first = (c: typeof gravity) => createPlacer(c).place(route({ classification: 'internal' }), envelope()).ranked[0]!.endpoint.id;
    // Act + Assess
    expect(first(nearest)).toBe('azure-eastus');
    expect(first(penalised)).toBe('aws-ohio');
    expect(first(gravity)).toBe('aws-ohio');
  });

  it('names the options when the strategy is misspelt', async () => {
    expect(await problems('placement:\n  strategy: closest\n')).toEqual([expect.stringMatching(/mesh\.yaml:7:\d+ placement\.strategy: expected one of .*data-gravity.*nearest.*, got "closest"/)]);
  });

  it('refuses a cross-cloud penalty that data-gravity would ignore', async () => {
    const issues = await problems('placement:\n  crossCloudPenaltyKm: 500\n');
    expect(issues).toEqual([expect.stringMatching(/placement\.crossCloudPenaltyKm: only used by strategy nearest .*set strategy: nearest or remove it/)]);
  });

  it('refuses a negative penalty and a circuit that never opens', async () => {
    const issues = await problems('placement:\n  strategy: nearest\n  crossCloudPenaltyKm: -1\n  circuit: { failures: 0 }\n');
    expect(issues).toEqual([
      expect.stringMatching(/placement\.crossCloudPenaltyKm: expected a number >= 0, got -1/),
      expect.stringMatching(/placement\.circuit\.failures: expected a number >= 1, got 0/),
    ]);
  });

  it('reports an unknown key with a suggestion', async () => {
    expect(await problems('placement:\n  stratgy: nearest\n')).toEqual([expect.stringMatching(/placement\.stratgy: unknown key "stratgy" \(did you mean "strategy"\?\)/)]);
  });
});
