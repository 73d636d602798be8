import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelAuthError, ModelRequestError, ModelThrottledError, ModelUnavailableError, type ModelEndpoint } from '../../../shared/core/index.ts';
import { OpenAIProvider } from '../../../shared/models/openai/index.ts';
import { openaiAnswer, openaiError, startOpenAIFake, type OpenAIFake } from '../../fakes/openaiFake.ts';
import { request, schema } from '../../contract/models/harnesses.ts';

// What the openai adapter puts on the wire, as the real `openai` client sends it.

let fake: OpenAIFake;

beforeEach(async () => {
  fake = await startOpenAIFake();
});
afterEach(() => fake.close());

function endpoint(options: Record<string, unknown> = {}): ModelEndpoint {
  return { id: 'openai-global', provider: 'openai', cloud: 'openai', scope: 'global', model: 'gpt-4.1-mini', price: { input: 0.4, output: 1.6 }, capabilities: ['json'], options };
}

const openai = (env: NodeJS.ProcessEnv = {}) => new OpenAIProvider({ env: { OPENAI_API_KEY: 'sk-test-key-0123456789', OPENAI_BASE_URL: `${fake.url}/v1`, ...env } });

describe('openai on the wire', () => {
  it('posts /v1/chat/completions with the Bearer key, the system prompt first and the schema as a strict json_schema response format', async () => {
    fake.reply(openaiAnswer({ score: 1, reasons: [] }));

    // The fake is not api.openai.com, so the token-limit field OpenAI wants is asked for explicitly.
    await openai().invoke(request(endpoint({ tokenLimit: 'max_completion_tokens' }), { maxTokens: 300, temperature: 0.2 }), AbortSignal.timeout(5_000));

    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer sk-test-key-0123456789');
    expect(sent.body).toEqual({
      model: 'gpt-4.1-mini',
      messages: [
        { role: 'system', content: 'You score orders for fraud risk.' },
        { role: 'user', content: 'Score order "A-1": total 120 USD, new customer.' },
      ],
      max_completion_tokens: 300,
      temperature: 0.2,
      response_format: { type: 'json_schema', json_schema: { name: 'order-risk', schema, strict: true } },
    });
  });

  it('asks for best-effort rather than strict decoding when the schema leaves an object open', async () => {
    fake.reply(openaiAnswer({ score: 1 }));
    const open = { type: 'object', properties: { score: { type: 'integer' } } };

    await openai().invoke(request(endpoint(), { outputSchema: open }), AbortSignal.timeout(5_000));

    expect(fake.requests[0]!.body.response_format.json_schema.strict).toBe(false);
  });

  it('talks to an OpenAI-compatible server from options.baseURL (over OPENAI_BASE_URL) with max_tokens and no key needed', async () => {
    fake.reply(openaiAnswer({ score: 1, reasons: [] }));
    const ollama = new OpenAIProvider({ env: { OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' } });

    await ollama.invoke(request(endpoint({ baseURL: `${fake.url}/v1` })), AbortSignal.timeout(5_000));

    const body = fake.requests[0]!.body;
    expect(body.max_tokens).toBe(256);
    expect(body).not.toHaveProperty('max_completion_tokens');
  });

  it('repairs by replaying its answer as the assistant turn and listing the problems as the next user turn', async () => {
    fake.reply(openaiAnswer('{"score": 420, "reasons": []}'), openaiAnswer({ score: 42, reasons: [] }));

    await openai().invoke(request(endpoint()), AbortSignal.timeout(5_000));

    const messages = fake.requests[1]!.body.messages;
    expect(messages.slice(2)).toEqual([
      { role: 'assistant', content: '{"score": 420, "reasons": []}' },
      { role: 'user', content: expect.stringContaining('- /score: must be <= 100') },
    ]);
  });

  it('treats an answer cut off at the token limit as unreadable and says so in the repair', async () => {
    fake.reply(openaiAnswer('{"score": 4', undefined, 'length'), openaiAnswer({ score: 4, reasons: [] }));

    const response = await openai().invoke(request(endpoint()), AbortSignal.timeout(5_000));

    expect(response.output).toEqual({ score: 4, reasons: [] });
    expect(fake.requests[1]!.body.messages.at(-1).content).toContain('cut off at maxTokens (256)');
  });

  it.each([
    [{ 'retry-after-ms': '1500' }, 1500],
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after-ms': '250', 'retry-after': '3' }, 250],
    [{}, undefined],
  ])('reads the throttle hint from %o as %s ms', async (headers, expected) => {
    fake.reply(openaiError(429, { message: 'Rate limit reached', code: 'rate_limit_exceeded' }, headers));

    const err = await openai().invoke(request(endpoint()), AbortSignal.timeout(5_000)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ModelThrottledError);
    expect((err as ModelThrottledError).retryAfterMs).toBe(expected);
  });

  it('does not retry a 429 that says the quota is used up', async () => {
    fake.reply(openaiError(429, { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' }));

    const err = await openai().invoke(request(endpoint()), AbortSignal.timeout(5_000)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ModelRequestError);
    expect((err as Error).message).toContain('quota is used up');
  });

  it('turns a refusal into a non-retryable ModelRequestError quoting it', async () => {
    const reply = openaiAnswer('');
    (reply.body as { choices: { message: Record<string, unknown> }[] }).choices[0]!.message.refusal = 'I cannot help with that.';
    fake.reply(reply);

    const err = await openai().invoke(request(endpoint()), AbortSignal.timeout(5_000)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ModelRequestError);
    expect((err as Error).message).toBe('openai openai-global: the model refused to answer: I cannot help with that.');
  });

  it('turns a server nobody listens on into a retryable ModelUnavailableError', async () => {
    const err = await new OpenAIProvider({ env: { OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' } })
      .invoke(request(endpoint()), AbortSignal.timeout(5_000))
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect((err as ModelUnavailableError).retryable).toBe(true);
  });

  it('says which variable holds a key no header can carry (a pasted line break), without the key, and sends nothing', async () => {
    const err = await openai({ OPENAI_API_KEY: 'sk-pasted-0123456789\n' })
      .invoke(request(endpoint()), AbortSignal.timeout(5_000))
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ModelAuthError);
    expect((err as Error).message).toBe('openai openai-global: OPENAI_API_KEY holds a character an HTTP header cannot carry (a line break or another control character); set it again without it');
    expect(fake.requests).toHaveLength(0);
  });
});
