import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MeshError, Pipeline, type ModelEndpoint } from '../../../shared/core/index.ts';
import { BedrockProvider } from '../../../shared/models/bedrock/index.ts';
import { OpenAIProvider } from '../../../shared/models/openai/index.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { bedrockError, startBedrockFake, type BedrockFake } from '../../fakes/bedrockFake.ts';
import { openaiError, startOpenAIFake, type OpenAIFake } from '../../fakes/openaiFake.ts';
import { request } from '../../contract/models/harnesses.ts';
import { config, fakePlacer, orderEvent, RecordingPublisher, route } from '../pipeline/fixtures.ts';

/*
 * What a provider sends back is not ours: a proxy or a compatible server may echo a key in
 * its request id, its error text or its headers. None of it may reach the error message,
 * the error's cause chain or the failure record.
 */

const ECHOED_KEY = 'sk-proj-Echoed0123456789abcdefSECRET';
const SESSION_TOKEN =
  'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDx5kZ0uY3Zb1Yb8aGcV0u3n1n6Zq+P9yKXq9w5nS0b2AIgXq2o1Vv8mK3sQ2hYh0z7E4vXbGf0nA==';

/** Everything a reader could see of an error: message, JSON, the inspected cause chain. */
function everythingOf(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 10; depth++) {
    parts.push(String(e), JSON.stringify(e) ?? '', inspect(e, { depth: 10, showHidden: true }));
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

async function failure(promise: Promise<unknown>): Promise<MeshError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MeshError);
  return err as MeshError;
}

describe('secrets echoed by an OpenAI-compatible server', () => {
  let fake: OpenAIFake;
  beforeEach(async () => {
    fake = await startOpenAIFake();
  });
  afterEach(() => fake.close());

  const endpoint: ModelEndpoint = { id: 'openai-global', provider: 'openai', cloud: 'openai', scope: 'global', model: 'gpt-4.1-mini', price: { input: 0.4, output: 1.6 }, capabilities: ['json'], options: {} };
  const provider = () => new OpenAIProvider({ env: { OPENAI_API_KEY: 'sk-test-key-0123456789', OPENAI_BASE_URL: `${fake.url}/v1` } });
  const echoing = () =>
    openaiError(
      401,
      { message: `Incorrect API key provided: ${ECHOED_KEY}; session ${SESSION_TOKEN}`, type: 'invalid_request_error', code: 'invalid_api_key' },
      { 'x-request-id': ECHOED_KEY },
    );

  it('keeps an echoed key out of the message and the cause chain, request id included', async () => {
    fake.reply(echoing());

    const err = await failure(provider().invoke(request(endpoint), AbortSignal.timeout(5_000)));

    const seen = everythingOf(err);
    expect(seen).not.toContain(ECHOED_KEY);
    expect(seen).not.toContain(SESSION_TOKEN);
    expect(err.message).toContain('[request ***]');
    expect(err.message).toContain('401');
  });

  it('keeps an echoed key out of the failure record the pipeline writes', async () => {
    fake.reply(echoing(), echoing(), echoing(), echoing());
    const store = createMemoryStore();
    const routes = [route()];
    const pipeline = new Pipeline({
      config: config(),
      routes,
      matcher: { matches: () => routes.map((r) => r.id) },
      placer: fakePlacer,
      providers: { get: () => provider() },
      publisher: new RecordingPublisher(),
      store,
      summarizePlacement: (d) => `summary of ${d.routeId}`,
    });

    const outcome = await pipeline.process(orderEvent('e-secret'));

    expect(outcome.routes[0]!.status).toBe('failed');
    const records = await store.failures.listFailures({});
    expect(records).toHaveLength(1);
    const seen = JSON.stringify(records) + everythingOf(outcome.routes[0]!.error);
    expect(seen).not.toContain(ECHOED_KEY);
    expect(seen).not.toContain(SESSION_TOKEN);
  });
});

describe('secrets echoed by Bedrock', () => {
  let fake: BedrockFake;
  let provider: BedrockProvider;
  beforeEach(async () => {
    fake = await startBedrockFake();
    provider = new BedrockProvider({ credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI' }, env: {} });
  });
  afterEach(async () => {
    provider.close();
    await fake.close();
  });

  it('keeps an echoed session token and key id out of the message and the cause chain', async () => {
    fake.reply(bedrockError(403, 'AccessDeniedException', `token ${SESSION_TOKEN} of ASIAIOSFODNN7EXAMPLE is not allowed`, { 'x-amzn-requestid': ECHOED_KEY }));
    const endpoint: ModelEndpoint = {
      id: 'bedrock-eu',
      provider: 'bedrock',
      cloud: 'aws',
      region: 'eu-central-1',
      scope: 'geography',
      model: 'eu.anthropic.claude-3-haiku-20240307-v1:0',
      price: { input: 0.25, output: 1.25 },
      capabilities: ['json'],
      options: { endpoint: fake.url },
    };

    const err = await failure(provider.invoke(request(endpoint), AbortSignal.timeout(5_000)));

    const seen = everythingOf(err);
    expect(err.code).toBe('ModelAuth');
    for (const secret of [SESSION_TOKEN, 'ASIAIOSFODNN7EXAMPLE', ECHOED_KEY]) expect(seen).not.toContain(secret);
  });
});
