/*
 * The `openai` ModelProvider: OpenAI's API, or any server that speaks it (Ollama, vLLM,
 * llama.cpp server) — which is how an on-prem model joins the catalogue. The base URL comes
 * from `options.baseURL`, else OPENAI_BASE_URL, else OpenAI's; the key from OPENAI_API_KEY
 * (or the variable named by `options.apiKeyEnv`), never from mesh.yaml.
 */
import { validateHeaderValue } from 'node:http';
import type { ModelEndpoint } from '../../core/catalogue.ts';
import { ModelAuthError, type ErrorContext } from '../../core/errors.ts';
import type { EndpointIssue } from '../options.ts';
import { ChatCompletionsProvider, type Connection } from './ChatCompletionsProvider.ts';
import { chatAgents, chatOverHttp, type ChatAgents } from './chatHttp.ts';
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
  /** Keep-alive agents for every endpoint of this provider (chatHttp.ts). */
  private readonly agents: ChatAgents;

  constructor(options: OpenAIProviderOptions = {}) {
    super();
    this.env = options.env ?? process.env;
    this.agents = chatAgents(this.env);
  }

  checkEndpoint(endpoint: ModelEndpoint): EndpointIssue[] {
    return checkOpenAIEndpoint(endpoint, this.env);
  }

  protected connect(endpoint: ModelEndpoint, context: ErrorContext): Connection {
    const { baseURL, apiKey, keyVariable, tokenLimit, strict } = openaiSettings(endpoint, this.env);
    if (apiKey === undefined) throw new ModelAuthError(`openai ${endpoint.id}: ${keyVariable} is not set in the environment`, { context });
    // The headers the openai client sends for the same settings; nothing is read from process.env behind the catalogue's back.
    const sent: [header: string, value: string | undefined, variable: string][] = [
      ['authorization', `Bearer ${apiKey}`, keyVariable],
      ['openai-organization', this.env.OPENAI_ORG_ID, 'OPENAI_ORG_ID'],
      ['openai-project', this.env.OPENAI_PROJECT_ID, 'OPENAI_PROJECT_ID'],
    ];
    const headers: Record<string, string> = {};
    for (const [header, value, variable] of sent) {
      if (!value) continue;
      // node:http's own rule, which chatOverHttp applies again to every header it is given.
      if (!isHeaderValue(header, value)) {
        throw new ModelAuthError(`openai ${endpoint.id}: ${variable} holds a character an HTTP header cannot carry (a line break or another control character); set it again without it`, { context });
      }
      headers[header] = value;
    }
    return {
      call: chatOverHttp({ baseURL, headers, agents: this.agents }),
      settings: { model: endpoint.model, tokenLimit, ...(strict === undefined ? {} : { strict }) },
      secrets: [apiKey],
    };
  }
}

function isHeaderValue(name: string, value: string): boolean {
  try {
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}
