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
import { SimulatedProvider } from './simulated/SimulatedProvider.ts';

/** A catalogue names a provider kind this build has no adapter for. Retrying will not help. */
export class ProviderUnavailableError extends MeshError {
  readonly code = 'ProviderUnavailable';
  readonly retryable = false;
}

/** Kinds the catalogue accepts whose adapters are not written yet. */
const PLANNED_KINDS = new Set(['bedrock', 'azure-openai', 'openai']);

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
    return models.flatMap((m, i) =>
      this.providers.has(m.provider) ? [] : [{ file, path: `models[${i}].provider`, message: this.describeMissing(m.provider, m.id) }],
    );
  }

  private describeMissing(kind: string, endpointId: string | undefined): string {
    const where = endpointId === undefined ? '' : ` (endpoint ${endpointId})`;
    if (PLANNED_KINDS.has(kind)) {
      return `provider "${kind}" is not available in this build yet${where}; use provider: simulated or see the model-provider issue`;
    }
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
}

/**
 * The providers this build ships: today the simulated one only.
 *
 * @example
 * const providers = defaultProviders({ seed: config.seed, clock });
 * const provider = providers.get(endpoint.provider);
 */
export function defaultProviders(options: DefaultProvidersOptions): ProviderRegistry {
  return new ProviderRegistry().register('simulated', new SimulatedProvider({ seed: options.seed, clock: options.clock ?? systemClock }));
}
