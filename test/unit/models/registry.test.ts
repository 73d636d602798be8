import { describe, expect, it } from 'vitest';
import type { ModelEndpoint, ModelProvider } from '../../../shared/core/index.ts';
import { ProviderRegistry, ProviderUnavailableError, SimulatedProvider, defaultProviders } from '../../../shared/models/index.ts';

const fake: ModelProvider = { kind: 'fake', invoke: () => Promise.reject(new Error('not called')) };

function model(id: string, provider: ModelEndpoint['provider']): ModelEndpoint {
  return { id, provider, cloud: 'aws', region: 'us-east-1', scope: 'region', model: id, price: { input: 0, output: 0 }, capabilities: [], options: {} };
}

describe('ProviderRegistry', () => {
  it('returns the provider registered for a kind, the last registration winning', () => {
    const other: ModelProvider = { ...fake };
    const registry = new ProviderRegistry().register('simulated', fake).register('simulated', other);
    expect(registry.get('simulated')).toBe(other);
    expect(registry.kinds()).toEqual(['simulated']);
  });

  it('refuses a planned provider kind with a non-retryable error naming the endpoint and the way out', () => {
    const registry = defaultProviders({ seed: 42 });
    const err = (() => {
      try {
        registry.get('bedrock', 'bedrock-us-east-1');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as ProviderUnavailableError).retryable).toBe(false);
    expect((err as ProviderUnavailableError).message).toBe(
      'provider "bedrock" is not available in this build yet (endpoint bedrock-us-east-1); use provider: simulated or see the model-provider issue',
    );
    expect((err as ProviderUnavailableError).context).toMatchObject({ provider: 'bedrock', endpoint: 'bedrock-us-east-1' });
  });

  it('names the available kinds for a kind nobody planned', () => {
    expect(() => defaultProviders({ seed: 1 }).get('watsonx')).toThrow('unknown provider "watsonx"; available: simulated');
  });

  it('lists one config issue per catalogue entry it cannot serve, at that entry\'s path', () => {
    const issues = defaultProviders({ seed: 1 }).configIssues([model('sim', 'simulated'), model('az', 'azure-openai')], 'mesh.yaml');
    expect(issues).toEqual([
      { file: 'mesh.yaml', path: 'models[1].provider', message: expect.stringContaining('provider "azure-openai" is not available in this build yet (endpoint az)') },
    ]);
  });

  it('ships the simulated provider by default', () => {
    const provider = defaultProviders({ seed: 42 }).get('simulated');
    expect(provider).toBeInstanceOf(SimulatedProvider);
    expect(provider.kind).toBe('simulated');
  });
});
