/*
 * The `azure-openai` ModelProvider: an Azure OpenAI (AI Foundry) resource through the
 * `openai` package. Two URL dialects: the v1 API (`{endpoint}/openai/v1/`, the default and
 * what `apiVersion: v1` asks for) with the deployment as the `model` field, or a dated
 * api-version (`{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…`,
 * `api-key` header). Auth: AZURE_OPENAI_API_KEY when set, else a Microsoft Entra token from
 * DefaultAzureCredential (managed identity in Azure, `az login` on a laptop).
 */
import { DefaultAzureCredential, getBearerTokenProvider, type TokenCredential } from '@azure/identity';
import OpenAI, { AzureOpenAI } from 'openai';
import type { ModelEndpoint } from '../../core/catalogue.ts';
import { ModelAuthError, ModelRequestError, type ErrorContext } from '../../core/errors.ts';
import type { EndpointIssue } from '../options.ts';
import { redact } from '../redact.ts';
import { ChatCompletionsProvider, type Connection } from './ChatCompletionsProvider.ts';
import { azureSettings, checkAzureEndpoint } from './openaiOptions.ts';

/** The Entra scope of Azure OpenAI / Azure AI services. */
export const AZURE_COGNITIVE_SCOPE = 'https://cognitiveservices.azure.com/.default';

export interface AzureOpenAIProviderOptions {
  /** Where AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The Entra credential used when no API key is set (default: DefaultAzureCredential, made on first use). */
  credential?: TokenCredential;
}

/**
 * The `azure-openai` provider.
 *
 * @example
 * // mesh.yaml: { id: azure-weu, provider: azure-openai, region: westeurope, model: gpt-4.1-mini,
 * //              options: { endpoint: https://acme-weu.openai.azure.com, apiVersion: 2024-10-21 } }
 * const provider = new AzureOpenAIProvider();
 */
export class AzureOpenAIProvider extends ChatCompletionsProvider {
  readonly kind = 'azure-openai';
  private readonly env: NodeJS.ProcessEnv;
  private credential: TokenCredential | undefined;

  constructor(options: AzureOpenAIProviderOptions = {}) {
    super();
    this.env = options.env ?? process.env;
    this.credential = options.credential;
  }

  checkEndpoint(endpoint: ModelEndpoint): EndpointIssue[] {
    return checkAzureEndpoint(endpoint, this.env);
  }

  protected connect(endpoint: ModelEndpoint, context: ErrorContext): Connection {
    const { resource, deployment, apiVersion, apiKey, strict } = azureSettings(endpoint, this.env);
    if (resource === undefined) throw new ModelRequestError(`azure-openai ${endpoint.id}: no resource URL; set options.endpoint or AZURE_OPENAI_ENDPOINT`, { context });
    const tokens = apiKey === undefined ? this.tokenProvider(endpoint, context) : undefined;
    // Every setting explicit: the SDK would otherwise read OPENAI_BASE_URL / OPENAI_API_KEY
    // (meant for the openai provider) from process.env. Its logger is off: keys never reach a log.
    const common = { maxRetries: 0, logLevel: 'off' as const, organization: null, project: null };
    const client =
      apiVersion === 'v1'
        ? new OpenAI({ ...common, baseURL: `${resource}/openai/v1/`, apiKey: apiKey ?? tokens! })
        : new AzureOpenAI({
            ...common,
            baseURL: `${resource}/openai`,
            deployment,
            apiVersion,
            // null, not undefined: undefined makes the SDK fall back to process.env's key, which
            // then clashes with the token provider when the injected environment has none.
            ...(apiKey === undefined ? { apiKey: null as unknown as undefined, azureADTokenProvider: tokens! } : { apiKey }),
          });
    return { call: (body, signal) => client.chat.completions.create(body, { signal }), settings: { model: deployment, tokenLimit: 'max_completion_tokens', ...(strict === undefined ? {} : { strict }) }, secrets: apiKey === undefined ? [] : [apiKey] };
  }

  /** A bearer-token function for the SDK; a credential failure becomes a ModelAuthError that says what to do. */
  private tokenProvider(endpoint: ModelEndpoint, context: ErrorContext): () => Promise<string> {
    this.credential ??= new DefaultAzureCredential();
    const get = getBearerTokenProvider(this.credential, AZURE_COGNITIVE_SCOPE);
    return async () => {
      try {
        return await get();
      } catch (err) {
        throw new ModelAuthError(
          `azure-openai ${endpoint.id}: no API key (AZURE_OPENAI_API_KEY) and no Microsoft Entra token (${redact(err instanceof Error ? err.message : String(err))}); set the key, or sign in (az login) / give the host a managed identity`,
          { context },
        );
      }
    };
  }
}
