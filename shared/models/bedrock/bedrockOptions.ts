import type { ModelEndpoint } from '../../core/catalogue.ts';
import { checkOptions, type EndpointIssue } from '../options.ts';

/** mesh.yaml `options` of a bedrock endpoint. */
export const BEDROCK_OPTIONS = {
  endpoint: 'URL overriding the Bedrock runtime endpoint (e.g. a VPC interface endpoint)',
  toolChoice: '"tool" (default: force the answer tool by name) or "any" (for models that reject a named tool choice)',
} as const;

/**
 * Problems with a bedrock endpoint's mesh.yaml `options`. Credentials are not checked: the
 * AWS default chain resolves them on the first call, and may legitimately need the network.
 *
 * @example
 * checkBedrockEndpoint({ ...endpoint, options: { endpoint: 'not a url' } }) // → [{ path: 'options.endpoint', … }]
 */
export function checkBedrockEndpoint(endpoint: ModelEndpoint): EndpointIssue[] {
  const issues = checkOptions(endpoint, BEDROCK_OPTIONS);
  const { endpoint: url, toolChoice } = endpoint.options;
  if (url !== undefined && (typeof url !== 'string' || !URL.canParse(url))) issues.push({ path: 'options.endpoint', message: `expected a URL, got ${JSON.stringify(url)}` });
  if (toolChoice !== undefined && toolChoice !== 'tool' && toolChoice !== 'any') {
    issues.push({ path: 'options.toolChoice', message: `expected "tool" or "any", got ${JSON.stringify(toolChoice)}` });
  }
  return issues;
}
