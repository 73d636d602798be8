import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatConfigIssue } from '../../../shared/core/errors.ts';
import { loadMeshConfig } from '../../../shared/config/index.ts';
import { configIssues, MINIMAL_MESH, tempTree } from './tempFiles.ts';

async function meshFile(text: string): Promise<string> {
  return join(await tempTree({ 'mesh.yaml': text }), 'mesh.yaml');
}

describe('loadMeshConfig', () => {
  it('fills the documented defaults for a minimal simulated endpoint', async () => {
    const file = await meshFile(MINIMAL_MESH);

    const config = await loadMeshConfig(file);

    expect(config.file).toBe(file);
    expect(config.seed).toBe(42);
    expect(config.models).toEqual([
      {
        id: 'sim-a',
        provider: 'simulated',
        cloud: 'aws',
        region: 'us-east-1',
        scope: 'region',
        model: 'sim-a',
        price: { input: 0, output: 0 },
        capabilities: ['json'],
        options: {},
        simulated: { latencyMs: { min: 40, max: 120 }, faults: { throttle: 0, error: 0, timeout: 0, malformed: 0 }, retryAfterMs: 200 },
      },
    ]);
    expect(config.destinations).toEqual({ local: { name: 'local', kind: 'local' } });
    expect(config.sources).toEqual({});
  });

  it('normalizes residency shorthands and keeps the explicit form', async () => {
    const file = await meshFile(
      MINIMAL_MESH.replace('  pii: same-region\n', '  pii: same-region\n  internal: same-geography\n  group: same-cloud\n  custom: { cloud: same, geography: same, region: any }\n'),
    );

    const { residency } = await loadMeshConfig(file);

    expect(residency).toEqual({
      public: { cloud: 'any', geography: 'any', region: 'any' },
      pii: { cloud: 'same', geography: 'same', region: 'same' },
      internal: { cloud: 'any', geography: 'same', region: 'any' },
      group: { cloud: 'same', geography: 'any', region: 'any' },
      custom: { cloud: 'same', geography: 'same', region: 'any' },
    });
  });

  it('implies the cloud from the provider, allows a global endpoint without a region, and reads latency as one number', async () => {
    const file = await meshFile(`models:
  - { id: br, provider: bedrock, region: us-east-1 }
  - { id: oa, provider: openai, scope: global, model: gpt-4.1-mini }
  - { id: az, provider: azure-openai, region: westeurope }
  - { id: sim, provider: simulated, cloud: azure, region: eastus, simulated: { latencyMs: 50 } }
residency: { public: anywhere }
`);

    const { models } = await loadMeshConfig(file);

    expect(models.map((m) => [m.id, m.cloud, m.region ?? null])).toEqual([
      ['br', 'aws', 'us-east-1'],
      ['oa', 'openai', null],
      ['az', 'azure', 'westeurope'],
      ['sim', 'azure', 'eastus'],
    ]);
    expect(models[1]?.simulated).toBeUndefined();
    expect(models[3]?.simulated?.latencyMs).toEqual({ min: 50, max: 50 });
  });

  it('accepts an on-prem OpenAI-compatible server at a site, and asks for its baseURL when missing', async () => {
    const onprem = (options: string) =>
      MINIMAL_MESH.replace(
        'models:\n',
        `models:\n  - id: ollama-fra\n    provider: openai\n    cloud: onprem\n    region: fra-dc1\n    model: llama3.1\n    options: ${options}\n`,
      );
    const config = await loadMeshConfig(await meshFile(onprem('{ baseURL: "http://gpu01:11434/v1" }')));
    expect(config.models[0]).toMatchObject({ id: 'ollama-fra', provider: 'openai', cloud: 'onprem', region: 'fra-dc1' });

    const issues = await configIssues(loadMeshConfig(await meshFile(onprem('{}'))));
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ['models[0].options', 'missing: an on-prem OpenAI-compatible endpoint needs options.baseURL (e.g. http://gpu01.fra-dc1:11434/v1)'],
    ]);
  });

  it('rejects a scope outside the enum, naming the path, the line and what it got', async () => {
    const file = await meshFile(MINIMAL_MESH.replace('    region: us-east-1\n', '    region: us-east-1\n    scope: zone\n'));

    const issues = await configIssues(loadMeshConfig(file));

    expect(issues).toEqual([{ file, path: 'models[0].scope', message: 'expected one of region | geography | global, got "zone"', line: 6, column: 12 }]);
  });

  it('names an unknown key with a did-you-mean, pointing at the key', async () => {
    const file = await meshFile(MINIMAL_MESH.replace('    region: us-east-1\n', '    regoin: us-east-1\n'));

    const issues = await configIssues(loadMeshConfig(file));

    expect(issues).toContainEqual({ file, path: 'models[0].regoin', message: 'unknown key "regoin" (did you mean "region"?)', line: 5, column: 5 });
  });

  it('collects every problem in one error instead of stopping at the first', async () => {
    const file = await meshFile(`seed: forty-two
models:
  - id: a
    provider: vertex
residency: {}
destinations:
  q: { kind: sqs }
`);

    const issues = await configIssues(loadMeshConfig(file));

    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'seed: expected a number, got "forty-two"',
      'models[0].provider: expected one of simulated | bedrock | azure-openai | openai, got "vertex"',
      'residency: expected at least one classification, e.g. public: anywhere',
      'destinations.q.kind: expected one of local | eventbridge | servicebus, got "sqs"',
    ]);
  });

  it('takes a claim-check bucket on an eventbridge destination, and says where a misplaced one is', async () => {
    const good = await meshFile(`models:
  - { id: a, provider: simulated, cloud: aws, region: us-east-1 }
residency: { public: anywhere }
destinations:
  orders: { kind: eventbridge, bus: acme-orders, claimCheck: { bucket: acme-mesh-results, prefix: large/ } }
`);
    expect((await loadMeshConfig(good)).destinations.orders).toEqual({ name: 'orders', kind: 'eventbridge', bus: 'acme-orders', claimCheck: { bucket: 'acme-mesh-results', prefix: 'large/' } });

    const bad = await meshFile(`models:
  - { id: a, provider: simulated, cloud: aws, region: us-east-1 }
residency: { public: anywhere }
destinations:
  tickets: { kind: servicebus, namespace: acme, entity: t, claimCheck: { bucket: b } }
  orders: { kind: eventbridge, bus: acme-orders, claimCheck: { prefix: large/ } }
`);
    const issues = (await configIssues(loadMeshConfig(bad))).map((i) => `${i.path}: ${i.message}`);
    expect(issues).toEqual([expect.stringMatching(/^destinations\.tickets\.claimCheck: unknown key/), expect.stringMatching(/^destinations\.orders\.claimCheck\.bucket: /)]);
  });

  it('still checks the well-formed entries when another part of the file is malformed', async () => {
    const file = await meshFile(`models:
  - { id: a, provider: simulated, region: us-east-1 }
  - { id: b, provider: simulated, cloud: aws, region: us-east-1, scope: zone }
residency: { public: anywhere }
`);

    const issues = await configIssues(loadMeshConfig(file));

    expect(issues.map((i) => i.path)).toEqual(['models[0].cloud', 'models[1].scope']);
  });

  it('checks the rules that span fields: cloud, region, simulated block, latency, faults, duplicate ids', async () => {
    const file = await meshFile(`models:
  - { id: a, provider: simulated, region: us-east-1 }
  - { id: b, provider: bedrock, cloud: azure }
  - { id: c, provider: openai, scope: global, simulated: { latencyMs: 10 } }
  - id: a
    provider: simulated
    cloud: aws
    region: us-east-1
    simulated: { latencyMs: [200, 100], faults: { throttle: 0.6, error: 0.5 } }
residency: {}
`);

    const issues = await configIssues(loadMeshConfig(file));

    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'models[0].cloud: missing: a simulated endpoint must say which cloud it imitates (expected one of aws | azure | onprem | openai)',
      'models[1].region: missing: expected a region for scope region (only scope global may omit it)',
      'models[1].cloud: expected "aws" (provider bedrock always runs there) or no cloud at all, got "azure"',
      'models[2].simulated: only allowed with provider simulated, got provider openai',
      'models[3].id: duplicate model id "a" (first used by models[0])',
      'models[3].simulated.latencyMs: expected [min, max] with min <= max, got [200, 100]',
      'models[3].simulated.faults: expected fault probabilities that sum to at most 1, got 1.1',
      'residency: expected at least one classification, e.g. public: anywhere',
    ]);
    expect(issues.find((i) => i.path === 'models[3].id')?.line).toBe(5);
  });

  it('rejects a fault probability above 1 and an empty catalogue', async () => {
    const file = await meshFile(`models: []\nresidency: { public: anywhere }\n`);
    const faulty = await meshFile(MINIMAL_MESH.replace('    region: us-east-1\n', '    region: us-east-1\n    simulated: { faults: { throttle: 1.5 } }\n'));

    expect((await configIssues(loadMeshConfig(file))).map((i) => i.message)).toEqual(['expected at least 1 item, got an empty list']);
    expect((await configIssues(loadMeshConfig(faulty))).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'models[0].simulated.faults.throttle: expected a number <= 1, got 1.5',
    ]);
  });

  it('explains a residency rule it cannot read, listing both forms', async () => {
    const file = await meshFile(MINIMAL_MESH.replace('pii: same-region', 'pii: same-country'));

    const [issue] = await configIssues(loadMeshConfig(file));

    expect(issue?.path).toBe('residency.pii');
    expect(issue?.message).toBe(
      'expected one of anywhere | same-geography | same-cloud | same-region or { cloud, geography, region: same | any }, got "same-country"',
    );
  });

  it('rejects secret-looking keys anywhere, pointing to the environment instead', async () => {
    const file = await meshFile(`models:
  - id: oa
    provider: openai
    scope: global
    options: { baseURL: "https://api.openai.com/v1", apiKey: sk-123 }
  - id: sb
    provider: simulated
    cloud: azure
    region: westeurope
    connectionString: "Endpoint=sb://x"
residency: { public: anywhere }
`);

    const issues = await configIssues(loadMeshConfig(file));

    expect(issues).toEqual([
      expect.objectContaining({ path: 'models[0].options.apiKey', line: 5, message: expect.stringContaining('set OPENAI_API_KEY in the environment') as string }),
      expect.objectContaining({ path: 'models[1].connectionString', line: 10, message: expect.stringContaining('secrets never live in config') as string }),
    ]);
  });

  it('reports a missing file with a hint on how to provide one', async () => {
    const file = join(await tempTree({}), 'mesh.yaml');

    const issues = await configIssues(loadMeshConfig(file));

    expect(issues).toEqual([{ file, path: '', message: 'file not found: create mesh.yaml or pass --config <file>' }]);
  });

  it('reports YAML syntax errors with their line and column', async () => {
    const file = await meshFile('models:\n  - id: a\n    price: { input: 1\nresidency: {}\n');

    const issues = await configIssues(loadMeshConfig(file));

    expect(issues[0]?.message).toMatch(/^not valid YAML: /);
    expect(issues[0]?.line).toBeGreaterThanOrEqual(3);
    expect(formatConfigIssue(issues[0]!)).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ \\(root\\): not valid YAML`));
  });

  it('rejects a file that is not a mapping', async () => {
    const file = await meshFile('- just\n- a list\n');

    expect((await configIssues(loadMeshConfig(file)))[0]?.message).toBe('expected a mapping with models, residency, sources, sites and destinations');
  });
});
