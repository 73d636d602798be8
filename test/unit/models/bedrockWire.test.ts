import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelAuthError, ModelRequestError, ModelThrottledError, ModelTimeoutError, ModelUnavailableError, type ModelEndpoint } from '../../../shared/core/index.ts';
import { BedrockProvider } from '../../../shared/models/bedrock/index.ts';
import { bedrockError, bedrockTextAnswer, bedrockToolAnswer, startBedrockFake, type BedrockFake } from '../../fakes/bedrockFake.ts';
import { request, schema } from '../../contract/models/harnesses.ts';

// What the bedrock adapter puts on the wire, as the real BedrockRuntimeClient sends it.

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

function endpoint(options: Record<string, unknown> = {}, model = 'eu.anthropic.claude-3-haiku-20240307-v1:0'): ModelEndpoint {
  return { id: 'bedrock-eu', provider: 'bedrock', cloud: 'aws', region: 'eu-central-1', scope: 'geography', model, price: { input: 0.25, output: 1.25 }, capabilities: ['json'], options: { endpoint: fake.url, ...options } };
}

describe('bedrock on the wire', () => {
  it('posts Converse over HTTP/2 to /model/{id}/converse, the inference profile id URL-encoded, signed for bedrock in the endpoint region', async () => {
    fake.reply(bedrockToolAnswer({ score: 1, reasons: [] }));

    await provider.invoke(request(endpoint()), AbortSignal.timeout(5_000));

    const sent = fake.requests[0]!;
    expect(sent.httpVersion).toBe('2.0');
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/model/eu.anthropic.claude-3-haiku-20240307-v1%3A0/converse');
    expect(sent.modelId).toBe('eu.anthropic.claude-3-haiku-20240307-v1:0');
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-central-1\/bedrock\/aws4_request/);
  });

  it('sends the system prompt in `system`, the prompt as the first user message and the limits in `inferenceConfig`', async () => {
    fake.reply(bedrockToolAnswer({ score: 1, reasons: [] }));

    await provider.invoke(request(endpoint(), { maxTokens: 300, temperature: 0.2 }), AbortSignal.timeout(5_000));

    const body = fake.requests[0]!.body;
    expect(body.system).toEqual([{ text: 'You score orders for fraud risk.' }]);
    expect(body.messages).toEqual([{ role: 'user', content: [{ text: 'Score order "A-1": total 120 USD, new customer.' }] }]);
    expect(body.inferenceConfig).toEqual({ maxTokens: 300, temperature: 0.2 });
  });

  it('forces the answer tool, whose input schema is the output schema; `toolChoice: any` for models that reject a named choice', async () => {
    fake.reply(bedrockToolAnswer({ score: 1, reasons: [] }), bedrockToolAnswer({ score: 1, reasons: [] }));

    await provider.invoke(request(endpoint()), AbortSignal.timeout(5_000));
    await provider.invoke(request(endpoint({ toolChoice: 'any' })), AbortSignal.timeout(5_000));

    const [named, any] = fake.requests.map((r) => r.body.toolConfig);
    expect(named.tools).toEqual([{ toolSpec: { name: 'answer', description: expect.any(String), inputSchema: { json: schema } } }]);
    expect(named.toolChoice).toEqual({ tool: { name: 'answer' } });
    expect(any.toolChoice).toEqual({ any: {} });
  });

  it('repairs by answering the tool call with an error toolResult that lists the problems', async () => {
    fake.reply(bedrockToolAnswer({ score: 420, reasons: [] }), bedrockToolAnswer({ score: 42, reasons: [] }));

    await provider.invoke(request(endpoint()), AbortSignal.timeout(5_000));

    const [, assistant, user] = fake.requests[1]!.body.messages;
    expect(assistant).toEqual({ role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_fake_1', name: 'answer', input: { score: 420, reasons: [] } } }] });
    expect(user.content[0].toolResult).toMatchObject({ toolUseId: 'tooluse_fake_1', status: 'error' });
    expect(user.content[0].toolResult.content[0].text).toContain('- /score: must be <= 100');
  });

  it('reads a model that answered in fenced JSON text instead of calling the tool', async () => {
    fake.reply(bedrockTextAnswer('```json\n{"score": 7, "reasons": ["ok"]}\n```'));

    const response = await provider.invoke(request(endpoint()), AbortSignal.timeout(5_000));

    expect(response.output).toEqual({ score: 7, reasons: ['ok'] });
    expect(fake.requests).toHaveLength(1);
  });

  it.each([
    ['ThrottlingException', 429, ModelThrottledError, true],
    ['ServiceQuotaExceededException', 400, ModelThrottledError, true],
    ['ModelNotReadyException', 429, ModelUnavailableError, true],
    ['ServiceUnavailableException', 503, ModelUnavailableError, true],
    ['InternalServerException', 500, ModelUnavailableError, true],
    ['ModelErrorException', 424, ModelUnavailableError, true],
    ['ModelTimeoutException', 408, ModelTimeoutError, true],
    ['ValidationException', 400, ModelRequestError, false],
    ['ResourceNotFoundException', 404, ModelRequestError, false],
    ['AccessDeniedException', 403, ModelAuthError, false],
    ['UnrecognizedClientException', 403, ModelAuthError, false],
    ['ExpiredTokenException', 403, ModelAuthError, false],
  ] as const)('maps %s (%i) to %O, retryable %s', async (type, status, expected, retryable) => {
    fake.reply(bedrockError(status, type, `${type} from the fake`));

    const err = await provider.invoke(request(endpoint()), AbortSignal.timeout(5_000)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(expected);
    expect((err as ModelThrottledError).retryable).toBe(retryable);
    expect((err as Error).message).toBe(`bedrock bedrock-eu (eu.anthropic.claude-3-haiku-20240307-v1:0): ${type}: ${type} from the fake [request req-1]`);
  });

  it('turns an endpoint nobody listens on into a retryable ModelUnavailableError', async () => {
    const url = fake.url;
    await fake.close();

    const err = await provider.invoke(request({ ...endpoint(), options: { endpoint: url } }), AbortSignal.timeout(5_000)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ModelUnavailableError);
    fake = await startBedrockFake();
  });

  it('turns a guardrail or content-filter stop into a non-retryable ModelRequestError', async () => {
    fake.reply(bedrockTextAnswer('', undefined, 'content_filtered'));

    const err = await provider.invoke(request(endpoint()), AbortSignal.timeout(5_000)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ModelRequestError);
    expect((err as Error).message).toBe('bedrock bedrock-eu: the answer was blocked (content filter); retrying the same event will not help');
  });
});
