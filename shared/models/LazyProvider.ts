import type { ModelEndpoint } from '../core/catalogue.ts';
import type { ModelProvider, ModelRequest, ModelResponse } from '../core/ports/ModelProvider.ts';
import type { EndpointIssue } from './options.ts';

/** What a provider may offer beyond the port: checks of its catalogue entries at start, and closing its connections. */
export interface ProviderExtras {
  checkEndpoint?(endpoint: ModelEndpoint): EndpointIssue[];
  close?(): void | Promise<void>;
}

/**
 * A provider whose adapter (and SDK) is loaded on its first call. The AWS, OpenAI and Azure
 * SDKs take over a second to import; a CLI command or a catalogue of simulated endpoints
 * should not pay for them. Endpoint checks run without the SDK.
 *
 * @example
 * new LazyProvider('bedrock', async () => new (await import('./bedrock/BedrockProvider.ts')).BedrockProvider(), checkBedrockEndpoint)
 */
export class LazyProvider implements ModelProvider, ProviderExtras {
  private loading: Promise<ModelProvider & ProviderExtras> | undefined;

  constructor(
    readonly kind: string,
    private readonly load: () => Promise<ModelProvider & ProviderExtras>,
    private readonly check: (endpoint: ModelEndpoint) => EndpointIssue[] = () => [],
  ) {}

  async invoke(request: ModelRequest, signal: AbortSignal): Promise<ModelResponse> {
    this.loading ??= this.load();
    return (await this.loading).invoke(request, signal);
  }

  checkEndpoint(endpoint: ModelEndpoint): EndpointIssue[] {
    return this.check(endpoint);
  }

  /** Closes the adapter if it was ever loaded. */
  async close(): Promise<void> {
    if (this.loading !== undefined) await (await this.loading).close?.();
  }
}
