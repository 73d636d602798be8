import { describe, expect, it } from 'vitest';
import type { ModelEndpoint, ModelProvider } from '../../../shared/core/index.ts';
import { LazyProvider, ProviderRegistry, ProviderUnavailableError, SimulatedProvider, defaultProviders } from '../../../shared/models/index.ts';

const fake: ModelProvider = { kind: 'fake', invoke: () => Promise.reject(new Error('not called')) };

function model(id: string, provider: ModelEndpoint['provider'], options: Record<string, unknown> = {}): ModelEndpoint {
  return { id, provider, cloud: 'aws', region: 'us-east-1', scope: 'region', model: id, price: { input: 0, output: 0 }, capabilities: [], options };
}

describe('ProviderRegistry', () => {
  it('returns the provider registered for a kind, the last registration winning', () => {
    const other: ModelProvider = { ...fake };
    const registry = new ProviderRegistry().register('simulated', fake).register('simulated', other);
    expect(registry.get('simulated')).toBe(other);
    expect(registry.kinds()).toEqual(['simulated']);
  });

  it('names the available kinds for a kind nobody planned', () => {
    expect(() => defaultProviders({ seed: 1 }).get('watsonx', 'wx-1')).toThrow('unknown provider "watsonx" (endpoint wx-1); available: azure-openai, bedrock, openai, simulated');
  });

  it('lists one config issue per catalogue entry it cannot serve, at that entry\'s path', () => {
    const issues = new ProviderRegistry().register('simulated', fake).configIssues([model('sim', 'simulated'), model('az', 'azure-openai')], 'mesh.yaml');
    expect(issues).toEqual([{ file: 'mesh.yaml', path: 'models[1].provider', message: 'unknown provider "azure-openai" (endpoint az); available: simulated' }]);
  });

  it('ships the simulated provider by default', () => {
    const provider = defaultProviders({ seed: 42 }).get('simulated');
    expect(provider).toBeInstanceOf(SimulatedProvider);
    expect(provider.kind).toBe('simulated');
  });

  it('refuses an unknown kind with a non-retryable error that carries the endpoint', () => {
    const err = (() => {
      try {
        new ProviderRegistry().get('watsonx', 'wx-1');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as ProviderUnavailableError).retryable).toBe(false);
    expect((err as ProviderUnavailableError).context).toMatchObject({ provider: 'watsonx', endpoint: 'wx-1' });
  });

  it('ships bedrock, azure-openai and openai as providers that load their SDK on first call', () => {
    const registry = defaultProviders({ seed: 42, env: {} });
    for (const kind of ['bedrock', 'azure-openai', 'openai']) expect(registry.get(kind)).toBeInstanceOf(LazyProvider);
  });

  it("checks each real endpoint's options and environment at start, at that entry's path", () => {
    const registry = defaultProviders({ seed: 1, env: {} });

    const issues = registry.configIssues(
      [
        model('sim', 'simulated'),
        model('br', 'bedrock', { endpoint: 'not a url' }),
        model('az', 'azure-openai', { deploymnet: 'x' }),
        model('oa', 'openai'),
        model('ollama', 'openai', { baseURL: 'http://localhost:11434/v1' }),
      ],
      'mesh.yaml',
    );

    expect(issues).toEqual([
      { file: 'mesh.yaml', path: 'models[1].options.endpoint', message: 'expected a URL, got "not a url"' },
      { file: 'mesh.yaml', path: 'models[2].options.deploymnet', message: expect.stringMatching(/^unknown option "deploymnet" for provider azure-openai; expected endpoint \(.*deployment \(/) },
      { file: 'mesh.yaml', path: 'models[2].options.endpoint', message: 'missing: set options.endpoint (the resource URL) or AZURE_OPENAI_ENDPOINT in the environment' },
      { file: 'mesh.yaml', path: 'models[3].provider', message: "endpoint oa calls OpenAI's API (https://api.openai.com/v1) but OPENAI_API_KEY is not set in the environment" },
    ]);
  });

  it('accepts real endpoints whose configuration comes from the environment', () => {
    const registry = defaultProviders({ seed: 1, env: { OPENAI_API_KEY: 'sk-x', AZURE_OPENAI_ENDPOINT: 'https://acme.openai.azure.com' } });

    expect(registry.configIssues([model('az', 'azure-openai', { apiVersion: '2024-10-21' }), model('oa', 'openai'), model('br', 'bedrock')], 'mesh.yaml')).toEqual([]);
  });

  it('closes the providers that hold connections, and only those', async () => {
    let closed = 0;
    const closing = { ...fake, close: () => void closed++ };
    await new ProviderRegistry().register('a', closing).register('b', fake).close();
    expect(closed).toBe(1);
  });
});
