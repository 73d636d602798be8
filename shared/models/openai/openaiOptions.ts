/*
 * Configuration of openai and azure-openai endpoints: mesh.yaml `options` plus the standard
 * environment variables, resolved and checked without loading the SDK (so `mesh validate`
 * and start-up checks stay fast).
 */
import type { ModelEndpoint } from '../../core/catalogue.ts';
import { checkOptions, type EndpointIssue } from '../options.ts';
import type { TokenLimitField } from './chat.ts';

export const OPENAI_API_BASE_URL = 'https://api.openai.com/v1';

/** mesh.yaml `options` of an openai endpoint. */
export const OPENAI_OPTIONS = {
  baseURL: 'base URL of an OpenAI-compatible server, e.g. http://localhost:11434/v1 for Ollama',
  apiKeyEnv: 'name of the environment variable holding the key (default OPENAI_API_KEY)',
  tokenLimit: '"max_completion_tokens" (default for OpenAI) or "max_tokens" (default with a baseURL)',
  strict: 'strict structured outputs: true or false (default: strict when the schema allows it)',
} as const;

/** mesh.yaml `options` of an azure-openai endpoint. */
export const AZURE_OPTIONS = {
  endpoint: 'resource URL, e.g. https://acme-weu.openai.azure.com (default AZURE_OPENAI_ENDPOINT)',
  deployment: 'deployment name (default: the model)',
  apiVersion: '"v1" (default) or a dated api-version such as 2024-10-21',
  strict: 'strict structured outputs: true or false (default: strict when the schema allows it)',
} as const;

export interface OpenAISettings {
  baseURL: string;
  /** Undefined when OpenAI's own API has no key; a placeholder for a custom server that needs none. */
  apiKey: string | undefined;
  keyVariable: string;
  tokenLimit: TokenLimitField;
  strict?: boolean;
}

/** Base URL from options, else OPENAI_BASE_URL, else OpenAI's; key from OPENAI_API_KEY or `options.apiKeyEnv`. */
export function openaiSettings(endpoint: ModelEndpoint, env: NodeJS.ProcessEnv): OpenAISettings {
  const { baseURL, apiKeyEnv, tokenLimit, strict } = endpoint.options;
  const configured = typeof baseURL === 'string' ? baseURL : env.OPENAI_BASE_URL || undefined;
  const custom = configured !== undefined && !(URL.canParse(configured) && new URL(configured).hostname === 'api.openai.com');
  const keyVariable = typeof apiKeyEnv === 'string' ? apiKeyEnv : 'OPENAI_API_KEY';
  const key = env[keyVariable] || undefined;
  return {
    baseURL: configured ?? OPENAI_API_BASE_URL,
    // Ollama and llama.cpp want no key, but the SDK insists on one: a placeholder it is.
    apiKey: key ?? (custom ? 'no-key' : undefined),
    keyVariable,
    tokenLimit: tokenLimit === 'max_tokens' || tokenLimit === 'max_completion_tokens' ? tokenLimit : custom ? 'max_tokens' : 'max_completion_tokens',
    ...(typeof strict === 'boolean' ? { strict } : {}),
  };
}

/** Problems with an openai endpoint's options, and a missing key for OpenAI's own API. */
export function checkOpenAIEndpoint(endpoint: ModelEndpoint, env: NodeJS.ProcessEnv): EndpointIssue[] {
  const issues = checkOptions(endpoint, OPENAI_OPTIONS);
  const { baseURL, apiKeyEnv, tokenLimit, strict } = endpoint.options;
  if (baseURL !== undefined && (typeof baseURL !== 'string' || !URL.canParse(baseURL))) issues.push({ path: 'options.baseURL', message: `expected a URL, got ${JSON.stringify(baseURL)}` });
  if (apiKeyEnv !== undefined && (typeof apiKeyEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv))) {
    issues.push({ path: 'options.apiKeyEnv', message: `expected the name of an environment variable, got ${JSON.stringify(apiKeyEnv)}` });
  }
  if (tokenLimit !== undefined && tokenLimit !== 'max_completion_tokens' && tokenLimit !== 'max_tokens') {
    issues.push({ path: 'options.tokenLimit', message: `expected "max_completion_tokens" or "max_tokens", got ${JSON.stringify(tokenLimit)}` });
  }
  if (strict !== undefined && typeof strict !== 'boolean') issues.push({ path: 'options.strict', message: `expected true or false, got ${JSON.stringify(strict)}` });
  if (issues.length > 0) return issues;
  const settings = openaiSettings(endpoint, env);
  if (settings.apiKey === undefined) {
    issues.push({ path: 'provider', message: `endpoint ${endpoint.id} calls OpenAI's API (${settings.baseURL}) but ${settings.keyVariable} is not set in the environment` });
  }
  return issues;
}

export interface AzureSettings {
  /** The resource URL without a trailing slash. */
  resource: string | undefined;
  deployment: string;
  /** `v1`, or a dated api-version. */
  apiVersion: string;
  /** Undefined: authenticate with a Microsoft Entra token. */
  apiKey: string | undefined;
  strict?: boolean;
}

/** Resource from options, else AZURE_OPENAI_ENDPOINT; deployment from options, else the model; v1 unless a dated version is given. */
export function azureSettings(endpoint: ModelEndpoint, env: NodeJS.ProcessEnv): AzureSettings {
  const { endpoint: url, deployment, apiVersion, strict } = endpoint.options;
  return {
    resource: (typeof url === 'string' ? url : env.AZURE_OPENAI_ENDPOINT)?.replace(/\/+$/, '') || undefined,
    deployment: typeof deployment === 'string' && deployment !== '' ? deployment : endpoint.model,
    apiVersion: typeof apiVersion === 'string' ? apiVersion : 'v1',
    apiKey: env.AZURE_OPENAI_API_KEY || undefined,
    ...(typeof strict === 'boolean' ? { strict } : {}),
  };
}

const DATED = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/** Problems with an azure-openai endpoint's options, and a resource URL set nowhere. No key is fine: Entra ID is used. */
export function checkAzureEndpoint(endpoint: ModelEndpoint, env: NodeJS.ProcessEnv): EndpointIssue[] {
  const issues = checkOptions(endpoint, AZURE_OPTIONS);
  const { endpoint: url, deployment, apiVersion, strict } = endpoint.options;
  if (url !== undefined && (typeof url !== 'string' || !URL.canParse(url))) issues.push({ path: 'options.endpoint', message: `expected the resource URL, got ${JSON.stringify(url)}` });
  if (url === undefined && !env.AZURE_OPENAI_ENDPOINT) {
    issues.push({ path: 'options.endpoint', message: 'missing: set options.endpoint (the resource URL) or AZURE_OPENAI_ENDPOINT in the environment' });
  }
  if (deployment !== undefined && (typeof deployment !== 'string' || deployment === '')) issues.push({ path: 'options.deployment', message: `expected a deployment name, got ${JSON.stringify(deployment)}` });
  if (apiVersion !== undefined && (typeof apiVersion !== 'string' || (apiVersion !== 'v1' && !DATED.test(apiVersion)))) {
    issues.push({ path: 'options.apiVersion', message: `expected "v1" or a dated api-version such as "2024-10-21", got ${JSON.stringify(apiVersion)}` });
  }
  if (strict !== undefined && typeof strict !== 'boolean') issues.push({ path: 'options.strict', message: `expected true or false, got ${JSON.stringify(strict)}` });
  return issues;
}
