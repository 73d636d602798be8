/*
 * Keys never appear in errors, logs or events. A provider's error text is not ours: an
 * OpenAI-compatible server may echo the Authorization header, a proxy may print the request.
 * Every message an adapter builds from an SDK error passes through here.
 */

/** Shapes of credentials whatever their source: bearer tokens, OpenAI-style keys, AWS key ids and signatures. */
const PATTERNS: [RegExp, string][] = [
  [/\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi, 'Bearer ***'],
  [/\bsk-[A-Za-z0-9_-]{8,}/g, '***'],
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, '***'],
  [/Signature=[0-9a-f]{16,}/gi, 'Signature=***'],
];

/**
 * `text` with every known secret and every credential-shaped string replaced by `***`.
 *
 * @example
 * redact('401 bad key sk-live-abc123456789', [process.env.OPENAI_API_KEY]) // → '401 bad key ***'
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is removed whole.
  for (const secret of secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join('***');
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * What an adapter keeps of an SDK error as the MeshError's `cause`: its name and a redacted
 * message, never the SDK object itself (which holds the response, and sometimes the request).
 */
export class ProviderErrorCause extends Error {
  constructor(
    name: string,
    message: string,
    readonly status: number | undefined,
    readonly requestId: string | undefined,
  ) {
    super(message);
    this.name = name;
  }
}
