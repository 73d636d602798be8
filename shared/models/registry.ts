/*
 * Providers by kind. The pipeline asks for `endpoint.provider` of each ranked endpoint; a
 * kind this build cannot serve fails with an error that says what to do instead, rather
 * than an undefined provider deep inside a retry loop.
 */
import { systemClock, type Clock } from '../core/clock.ts';
import { MeshError, type ConfigIssue } from '../core/errors.ts';
import type { ModelEndpoint } from '../core/catalogue.ts';
import type { ProviderLookup } from '../core/invoke.ts';
import type { ModelProvider } from '../core/ports/ModelProvider.ts';
import type { BedrockProviderOptions } from './bedrock/BedrockProvider.ts';
import { checkBedrockEndpoint } from './bedrock/bedrockOptions.ts';
import { LazyProvider, type ProviderExtras } from './LazyProvider.ts';
import { checkAzureEndpoint, checkOpenAIEndpoint } from './openai/openaiOptions.ts';
import { SimulatedProvider } from './simulated/SimulatedProvider.ts';

/** A catalogue names a provider kind this build has no adapter for. Retrying will not help. */
export class ProviderUnavailableError extends MeshError {
  override readonly name = 'ProviderUnavailableError';
  readonly code = 'ProviderUnavailable';
  readonly retryable = false;
}

/**
 * A lookup of model providers by kind.
 *
 * @example
 * const providers = new ProviderRegistry().register('simulated', new SimulatedProvider({ seed: 42 }));
 * providers.get('simulated').invoke(request, signal);
 */
export class ProviderRegistry implements ProviderLookup {
  private readonly providers = new Map<string, ModelProvider>();

  /** Adds (or replaces, so tests can swap in a fake) the provider for `kind`. */
  register(kind: string, provider: ModelProvider): this {
    this.providers.set(kind, provider);
    return this;
  }

  /**
   * The provider for `kind`; throws ProviderUnavailableError when none is registered. Pass
   * the endpoint id when you have it: the message then names the catalogue entry to fix.
   */
  get(kind: string, endpointId?: string): ModelProvider {
    const provider = this.providers.get(kind);
    if (provider !== undefined) return provider;
    const available = this.kinds();
    throw new ProviderUnavailableError(this.describeMissing(kind, endpointId), {
      context: { provider: kind, available, ...(endpointId === undefined ? {} : { endpoint: endpointId }) },
    });
  }

  /**
   * One issue per catalogue entry whose provider this registry cannot serve, so a loader or
   * `mesh validate` can refuse the config at start instead of failing the first event.
   *
   * @example
   * const issues = providers.configIssues(config.models, config.file);
   * if (issues.length > 0) throw new ConfigError(issues);
   */
  configIssues(models: readonly ModelEndpoint[], file: string): ConfigIssue[] {
    return models.flatMap((m, i) => {
      const provider = this.providers.get(m.provider) as (ModelProvider & ProviderExtras) | undefined;
      if (provider === undefined) return [{ file, path: `models[${i}].provider`, message: this.describeMissing(m.provider, m.id) }];
      return (provider.checkEndpoint?.(m) ?? []).map((issue) => ({ file, path: `models[${i}].${issue.path}`, message: issue.message }));
    });
  }

  /** Closes the providers that hold connections (HTTP/2 sessions to Bedrock). */
  async close(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => (p as ModelProvider & ProviderExtras).close?.()));
  }

  private describeMissing(kind: string, endpointId: string | undefined): string {
    const where = endpointId === undefined ? '' : ` (endpoint ${endpointId})`;
    const available = this.kinds();
    return `unknown provider "${kind}"${where}; available: ${available.length > 0 ? available.join(', ') : 'none'}`;
  }

  /** The registered kinds, sorted. */
  kinds(): string[] {
    return [...this.providers.keys()].sort();
  }
}

export interface DefaultProvidersOptions {
  /** Seed of the simulated provider (mesh.yaml `seed`). */
  seed: number | string;
  clock?: Clock;
  /** Where the real providers read their configuration and keys (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Bedrock credentials (default: the AWS SDK's default chain). */
  awsCredentials?: BedrockProviderOptions['credentials'];
}

/**
 * The providers this build ships: simulated, bedrock, azure-openai and openai. The real ones
 * load their SDK, make a client and read credentials only when an endpoint of theirs is first
 * called, so a catalogue of simulated endpoints costs nothing; `configIssues` still checks
 * their entries (options, resource URL, key) at start.
 *
 * @example
 * const providers = defaultProviders({ seed: config.seed, clock });
 * const provider = providers.get(endpoint.provider);
 */
export function defaultProviders(options: DefaultProvidersOptions): ProviderRegistry {
  const env = options.env ?? process.env;
  const aws = options.awsCredentials === undefined ? {} : { credentials: options.awsCredentials };
  return new ProviderRegistry()
    .register('simulated', new SimulatedProvider({ seed: options.seed, clock: options.clock ?? systemClock }))
    .register('bedrock', new LazyProvider('bedrock', async () => new (await import('./bedrock/BedrockProvider.ts')).BedrockProvider({ env, ...aws }), checkBedrockEndpoint))
    .register('azure-openai', new LazyProvider('azure-openai', async () => new (await import('./openai/AzureOpenAIProvider.ts')).AzureOpenAIProvider({ env }), (e) => checkAzureEndpoint(e, env)))
    .register('openai', new LazyProvider('openai', async () => new (await import('./openai/OpenAIProvider.ts')).OpenAIProvider({ env }), (e) => checkOpenAIEndpoint(e, env)));
}
