import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeEventBridgeEvent } from '../../../shared/buses/index.ts';
import { createLocalMesh, type LocalMesh } from '../../../shared/runtime/index.ts';
import { bedrockError, bedrockToolAnswer, startBedrockFake, type BedrockFake } from '../../fakes/bedrockFake.ts';

/*
 * The local mesh, end to end, with a real Bedrock endpoint in its catalogue: the sample
 * OrderPlaced event goes through match → place → invoke (the real BedrockRuntimeClient,
 * pointed at the fake by AWS_ENDPOINT_URL_BEDROCK_RUNTIME as a deployment would point it at
 * a VPC endpoint) → emit, and the result's provenance tells where and at what cost.
 */

const REPO = join(import.meta.dirname, '..', '..', '..');

const MESH_YAML = `
models:
  - id: bedrock-us-east-1
    provider: bedrock
    region: us-east-1
    model: openai.gpt-oss-120b-1:0
    price: { input: 0.15, output: 0.6 }
residency:
  internal: same-geography
destinations:
  orders-bus: { kind: eventbridge, bus: acme-orders, region: us-east-1 }
`;

let dir: string;
let fake: BedrockFake;
let mesh: LocalMesh | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-bedrock-'));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'routes', 'order-risk.yaml'), join(dir, 'events', 'routes', 'order-risk.yaml'));
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  fake = await startBedrockFake();
  vi.stubEnv('AWS_ENDPOINT_URL_BEDROCK_RUNTIME', fake.url);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAFAKEFAKEFAKE0000');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'e2e-secret-access-key-do-not-leak');
  vi.stubEnv('AWS_SESSION_TOKEN', '');
  vi.stubEnv('AWS_PROFILE', '');
  mesh = await createLocalMesh({ configFile: join(dir, 'mesh.yaml'), routesDir: join(dir, 'events', 'routes'), home: join(dir, '.mesh') });
});

afterEach(async () => {
  await mesh?.close();
  vi.unstubAllEnvs();
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

async function sampleOrder() {
  const text = await readFile(join(REPO, 'events', 'samples', '01-order-placed.eventbridge.json'), 'utf8');
  return decodeEventBridgeEvent(JSON.parse(text));
}

describe('the local mesh with a bedrock endpoint', () => {
  it('scores the sample order through Bedrock Converse and emits a result whose provenance says bedrock, tokens and cost', async () => {
    fake.reply(bedrockToolAnswer({ score: 12, level: 'low', reasons: ['long-standing customer'] }, { inputTokens: 1000, outputTokens: 200 }));

    const outcome = await mesh!.pipeline.process(await sampleOrder());

    const route = outcome.routes[0]!;
    expect(route).toMatchObject({ routeId: 'order-risk', status: 'emitted', endpoint: 'bedrock-us-east-1' });
    const data = route.result!.event.data as { result: unknown; provenance: Record<string, unknown> };
    expect(data.result).toEqual({ score: 12, level: 'low', reasons: ['long-standing customer'] });
    expect(data.provenance).toMatchObject({
      provider: 'bedrock',
      endpoint: 'bedrock-us-east-1',
      model: 'openai.gpt-oss-120b-1:0',
      region: 'us-east-1',
      tokens: { input: 1000, output: 200 },
      // (1000 × 0.15 + 200 × 0.6) / 1e6 USD
      costUsd: 0.00027,
      attempts: 1,
    });
    const sent = fake.requests[0]!;
    expect(sent.modelId).toBe('openai.gpt-oss-120b-1:0');
    expect(sent.body.inferenceConfig).toEqual({ maxTokens: 400, temperature: 0 });
    expect(sent.body.messages[0].content[0].text).toContain('ORD-2026-104233');
  });

  it("retries a throttled call after the service's Retry-After, under the mesh's policy", async () => {
    fake.reply(bedrockError(429, 'ThrottlingException', 'Too many requests', { 'retry-after': '0.05' }), bedrockToolAnswer({ score: 80, level: 'high', reasons: ['x'] }));

    const outcome = await mesh!.pipeline.process(await sampleOrder());

    const route = outcome.routes[0]!;
    expect(route.status).toBe('emitted');
    expect(route.attempts.map((a) => a.error?.code ?? 'ok')).toEqual(['ModelThrottled', 'ok']);
    expect(fake.requests).toHaveLength(2);
  });

  it('lands a call refused for its identity in the failure ledger without the secret key', async () => {
    fake.reply(bedrockError(403, 'AccessDeniedException', 'not authorized: e2e-secret-access-key-do-not-leak'));

    const outcome = await mesh!.pipeline.process(await sampleOrder());

    const route = outcome.routes[0]!;
    expect(route.status).toBe('failed');
    expect(route.error?.code).toBe('ModelAuth');
    expect(JSON.stringify(route)).not.toContain('e2e-secret-access-key-do-not-leak');
  });
});
