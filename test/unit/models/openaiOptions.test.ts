import { describe, expect, it } from 'vitest';
import type { ModelEndpoint } from '../../../shared/core/index.ts';
import { azureSettings, checkAzureEndpoint, checkOpenAIEndpoint, openaiSettings } from '../../../shared/models/index.ts';

function endpoint(provider: 'openai' | 'azure-openai', options: Record<string, unknown> = {}): ModelEndpoint {
  return { id: 'e', provider, cloud: provider === 'openai' ? 'openai' : 'azure', scope: 'global', model: 'gpt-4.1-mini', price: { input: 0, output: 0 }, capabilities: [], options };
}

describe('openai endpoint settings', () => {
  it("defaults to OpenAI's API and max_completion_tokens, with the key from OPENAI_API_KEY", () => {
    expect(openaiSettings(endpoint('openai'), { OPENAI_API_KEY: 'sk-1' })).toEqual({
      baseURL: 'https://api.openai.com/v1',
      apiKey: 'sk-1',
      keyVariable: 'OPENAI_API_KEY',
      tokenLimit: 'max_completion_tokens',
    });
  });

  it('treats any other base URL as an OpenAI-compatible server: max_tokens, and a placeholder key when none is set', () => {
    const settings = openaiSettings(endpoint('openai', { baseURL: 'http://localhost:11434/v1' }), { OPENAI_BASE_URL: 'http://ignored/v1' });
    expect(settings).toMatchObject({ baseURL: 'http://localhost:11434/v1', apiKey: 'no-key', tokenLimit: 'max_tokens' });
  });

  it('reads the key from the variable options.apiKeyEnv names', () => {
    expect(openaiSettings(endpoint('openai', { baseURL: 'http://vllm:8000/v1', apiKeyEnv: 'VLLM_KEY' }), { VLLM_KEY: 'v-1', OPENAI_API_KEY: 'sk-1' }).apiKey).toBe('v-1');
  });

  it('refuses wrong option values, each at its path', () => {
    expect(checkOpenAIEndpoint(endpoint('openai', { baseURL: 42, tokenLimit: 'max', strict: 'yes', apiKeyEnv: 'not a name' }), {}).map((i) => i.path)).toEqual([
      'options.baseURL',
      'options.apiKeyEnv',
      'options.tokenLimit',
      'options.strict',
    ]);
  });
});

describe('azure-openai endpoint settings', () => {
  it('uses the v1 API unless a dated version is given, and the model as the deployment unless one is named', () => {
    expect(azureSettings(endpoint('azure-openai', { endpoint: 'https://acme.openai.azure.com/' }), {})).toEqual({
      resource: 'https://acme.openai.azure.com',
      deployment: 'gpt-4.1-mini',
      apiVersion: 'v1',
      apiKey: undefined,
    });
  });

  it('accepts v1 and dated api-versions, and refuses anything else', () => {
    const check = (apiVersion: string) => checkAzureEndpoint(endpoint('azure-openai', { endpoint: 'https://a.openai.azure.com', apiVersion }), {});
    expect(check('v1')).toEqual([]);
    expect(check('2025-04-01-preview')).toEqual([]);
    expect(check('latest')).toEqual([{ path: 'options.apiVersion', message: 'expected "v1" or a dated api-version such as "2024-10-21", got "latest"' }]);
  });
});
