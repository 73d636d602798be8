import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ModelAuthError, ModelRequestError, type ModelEndpoint } from '../../../shared/core/index.ts';
import { AZURE_COGNITIVE_SCOPE, AzureOpenAIProvider } from '../../../shared/models/openai/index.ts';
import { azureCompletionFiltered, azurePromptFiltered, openaiAnswer, startOpenAIFake, type OpenAIFake } from '../../fakes/openaiFake.ts';
import { request } from '../../contract/models/harnesses.ts';

// What the azure-openai adapter puts on the wire, in both URL dialects and both auth modes.

let fake: OpenAIFake;

beforeEach(async () => {
  fake = await startOpenAIFake();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await fake.close();
});

function endpoint(options: Record<string, unknown>): ModelEndpoint {
  return { id: 'azure-weu', provider: 'azure-openai', cloud: 'azure', region: 'westeurope', scope: 'region', model: 'gpt-4.1-mini', price: { input: 0.4, output: 1.6 }, capabilities: ['json'], options };
}

/** A Microsoft Entra credential that hands out one token and remembers the scopes asked for. */
class FakeCredential implements TokenCredential {
  readonly scopes: (string | string[])[] = [];
  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    this.scopes.push(scopes);
    return { token: 'entra-token-abc', expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

describe('azure-openai on the wire', () => {
  it('posts to /openai/deployments/{deployment}/chat/completions?api-version=… with the api-key header for a dated version', async () => {
    fake.reply(openaiAnswer({ score: 1, reasons: [] }));
    const azure = new AzureOpenAIProvider({ env: { AZURE_OPENAI_API_KEY: 'azure-key-1' } });

    await azure.invoke(request(endpoint({ endpoint: `${fake.url}/`, deployment: 'risk-scorer', apiVersion: '2024-10-21' })), AbortSignal.timeout(5_000));

    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/openai/deployments/risk-scorer/chat/completions');
    expect(sent.query).toEqual({ 'api-version': '2024-10-21' });
    expect(sent.headers['api-key']).toBe('azure-key-1');
    expect(sent.headers).not.toHaveProperty('authorization');
    expect(sent.body.max_completion_tokens).toBe(256);
  });

  it('posts to the v1 base URL with the deployment as the model, AZURE_OPENAI_ENDPOINT when options name no resource', async () => {
    fake.reply(openaiAnswer({ score: 1, reasons: [] }));
    const azure = new AzureOpenAIProvider({ env: { AZURE_OPENAI_API_KEY: 'azure-key-1', AZURE_OPENAI_ENDPOINT: fake.url } });

    await azure.invoke(request(endpoint({ deployment: 'risk-scorer' })), AbortSignal.timeout(5_000));

    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/openai/v1/chat/completions');
    expect(sent.query).toEqual({});
    expect(sent.body.model).toBe('risk-scorer');
    expect(sent.headers.authorization).toBe('Bearer azure-key-1');
  });

  it.each(['v1', '2024-10-21'])('without a key, authenticates (%s) with a Microsoft Entra token for the Cognitive Services scope', async (apiVersion) => {
    fake.reply(openaiAnswer({ score: 1, reasons: [] }));
    const credential = new FakeCredential();
    const azure = new AzureOpenAIProvider({ env: {}, credential });

    await azure.invoke(request(endpoint({ endpoint: fake.url, apiVersion })), AbortSignal.timeout(5_000));

    expect(fake.requests[0]!.headers.authorization).toBe('Bearer entra-token-abc');
    expect(fake.requests[0]!.headers).not.toHaveProperty('api-key');
    expect(credential.scopes.flat()).toEqual([AZURE_COGNITIVE_SCOPE]);
  });

  it('fails with ModelAuthError that says what to do when there is neither a key nor a token, without calling the service', async () => {
    const credential: TokenCredential = { getToken: () => Promise.reject(new Error('DefaultAzureCredential: no credential in the chain')) };
    const azure = new AzureOpenAIProvider({ env: {}, credential });

    const err = await azure.invoke(request(endpoint({ endpoint: fake.url })), AbortSignal.timeout(5_000)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ModelAuthError);
    expect((err as Error).message).toMatch(/^azure-openai azure-weu: no API key \(AZURE_OPENAI_API_KEY\) and no Microsoft Entra token .* set the key, or sign in/);
    expect(fake.requests).toHaveLength(0);
  });

  it('names the categories that fired when the content filter blocks the prompt or the completion', async () => {
    fake.reply(azurePromptFiltered('violence'), azureCompletionFiltered('hate'));
    const azure = new AzureOpenAIProvider({ env: { AZURE_OPENAI_API_KEY: 'k-123456', AZURE_OPENAI_ENDPOINT: fake.url } });

    const prompt = await azure.invoke(request(endpoint({})), AbortSignal.timeout(5_000)).catch((e: unknown) => e);
    const completion = await azure.invoke(request(endpoint({})), AbortSignal.timeout(5_000)).catch((e: unknown) => e);

    expect(prompt).toBeInstanceOf(ModelRequestError);
    expect((prompt as Error).message).toBe('azure-openai azure-weu: the prompt was blocked by the content filter (violence: high); retrying the same event will not help [request req-1]');
    expect(completion).toBeInstanceOf(ModelRequestError);
    expect((completion as Error).message).toBe('azure-openai azure-weu: the answer was blocked by the content filter (hate: medium); retrying the same event will not help');
  });

  it('is not led astray by OPENAI_BASE_URL or OPENAI_API_KEY, which belong to the openai provider', async () => {
    vi.stubEnv('OPENAI_BASE_URL', 'http://127.0.0.1:1/v1');
    vi.stubEnv('OPENAI_API_KEY', 'sk-not-for-azure-0000');
    vi.stubEnv('AZURE_OPENAI_API_KEY', 'process-env-azure-key');
    fake.reply(openaiAnswer({ score: 1, reasons: [] }));
    const azure = new AzureOpenAIProvider({ env: {}, credential: new FakeCredential() });

    await azure.invoke(request(endpoint({ endpoint: fake.url, apiVersion: '2024-10-21' })), AbortSignal.timeout(5_000));

    expect(fake.requests[0]!.headers.authorization).toBe('Bearer entra-token-abc');
  });
});
