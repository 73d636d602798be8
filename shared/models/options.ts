import type { ModelEndpoint } from '../core/catalogue.ts';

/** One problem with a catalogue entry, at a path inside that entry (`options.deployment`). */
export interface EndpointIssue {
  path: string;
  message: string;
}

/**
 * A closed set of option names per provider, so a typo (`deploymnet`) fails at start
 * instead of being silently ignored. `known` maps each name to what it means.
 */
export function checkOptions(endpoint: ModelEndpoint, known: Readonly<Record<string, string>>): EndpointIssue[] {
  const names = Object.keys(known);
  return Object.keys(endpoint.options)
    .filter((k) => !(k in known))
    .map((k) => ({
      path: `options.${k}`,
      message: `unknown option "${k}" for provider ${endpoint.provider}; expected ${names.length === 0 ? 'no options' : names.map((n) => `${n} (${known[n]})`).join(', ')}`,
    }));
}
