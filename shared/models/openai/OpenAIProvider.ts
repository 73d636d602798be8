/*
 * The `openai` ModelProvider: OpenAI's API, or any server that speaks it (Ollama, vLLM,
 * llama.cpp server) — which is how an on-prem model joins the catalogue. The base URL comes
 * from `options.baseURL`, else OPENAI_BASE_URL, else OpenAI's; the key from OPENAI_API_KEY
 * (or the variable named by `options.apiKeyEnv`), never from mesh.yaml.
 */
import OpenAI from 'openai';
import type { ModelEndpoint } from '../../core/catalogue.ts';
import { ModelAuthError, type ErrorContext } from '../../core/errors.ts';
import type { EndpointIssue } from '../options.ts';
import { ChatCompletionsProvider, type Connection } from './ChatCompletionsProvider.ts';
import { httpFetch } from './httpFetch.ts';
import { checkOpenAIEndpoint, openaiSettings } from './openaiOptions.ts';

export interface OpenAIProviderOptions {
  /** Where OPENAI_BASE_URL and the key are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The `openai` provider.
 *
 * @example
 * // mesh.yaml: { id: ollama-local, provider: openai, scope: global, model: llama3.2, options: { baseURL: http://localhost:11434/v1 } }
 * const provider = new OpenAIProvider();
 * const { output } = await provider.invoke(request, AbortSignal.timeout(30_000));
 */
export class OpenAIProvider extends ChatCompletionsProvider {
  readonly kind = 'openai';
  private readonly env: NodeJS.ProcessEnv;
  /** One keep-alive agent for every endpoint of this provider (httpFetch.ts). */
  private readonly fetch: typeof fetch;

  constructor(options: OpenAIProviderOptions = {}) {
    super();
    this.env = options.env ?? process.env;
    this.fetch = httpFetch(this.env);
  }

  checkEndpoint(endpoint: ModelEndpoint): EndpointIssue[] {
    return checkOpenAIEndpoint(endpoint, this.env);
  }

  protected connect(endpoint: ModelEndpoint, context: ErrorContext): Connection {
    const { baseURL, apiKey, keyVariable, tokenLimit, strict } = openaiSettings(endpoint, this.env);
    if (apiKey === undefined) throw new ModelAuthError(`openai ${endpoint.id}: ${keyVariable} is not set in the environment`, { context });
    return {
      // Every setting explicit: the SDK would otherwise read OPENAI_* from process.env behind our back.
      // Its logger is off: at debug level it prints requests, and keys never reach a log.
      client: new OpenAI({ apiKey, baseURL, organization: this.env.OPENAI_ORG_ID ?? null, project: this.env.OPENAI_PROJECT_ID ?? null, maxRetries: 0, logLevel: 'off', fetch: this.fetch }),
      settings: { model: endpoint.model, tokenLimit, ...(strict === undefined ? {} : { strict }) },
      secrets: [apiKey],
    };
  }
}
