/*
 * Keys never appear in errors, logs or events. A provider's or a bus's answer is not ours:
 * an OpenAI-compatible server may echo the Authorization header, a proxy may print the
 * request, a gateway may put a key in its request id. Every message, request id and header
 * value an adapter keeps from an SDK error passes through here.
 */

/** Not a letter or digit before: `req-sk-…` and `id_sk-…` are caught, `task-…` is not. */
const START = '(?<![A-Za-z0-9])';

/** A base64 run is a credential only when it mixes upper case, lower case and digits (a hex hash does not). */
function looksLikeKey(run: string): boolean {
  return /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run);
}

/**
 * Shapes of credentials whatever their source. Key=value forms keep the name, so the
 * message still says which credential was there.
 */
const PATTERNS: [RegExp, string | ((match: string) => string)][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 ***'],
  [new RegExp(`${START}sk-[A-Za-z0-9_-]{8,}`, 'g'), '***'],
  [new RegExp(`${START}(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])`, 'g'), '***'],
  [/Signature=[0-9a-f]{16,}/gi, 'Signature=***'],
  // Azure SAS tokens (`sig=`), Service Bus and Event Hubs connection strings, storage account keys.
  [/\b(sig|SharedAccessKey|SharedAccessSignature|AccountKey|x-amz-security-token|X-Amz-Signature|X-Amz-Credential)=[^;&\s"',]+/gi, '$1=***'],
  // `api-key: …` / `x-api-key=…` (Azure OpenAI's header and gateways' keys).
  [/\b((?:x-)?api-key["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi, '$1***'],
  // JSON Web Tokens (Entra tokens and the like), with or without `Bearer`.
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '***'],
  // AWS session tokens and secret access keys: long base64 runs mixing cases and digits.
  [/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])/g, (run) => (looksLikeKey(run) ? '***' : run)],
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
  // One call per overload of String.replace (a string or a function replacement).
  for (const [pattern, replacement] of PATTERNS) out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  return out;
}

/** `redact` for a value that may be absent (a request id, a header). */
export function redactOptional(text: string | undefined | null, secrets: readonly (string | undefined)[] = []): string | undefined {
  return text === undefined || text === null ? undefined : redact(text, secrets);
}

/**
 * What an adapter keeps of an SDK error as the MeshError's `cause`: its name, code, status,
 * request id and a redacted message, never the SDK object itself (which holds the response,
 * its headers, and sometimes the request).
 */
export class ProviderErrorCause extends Error {
  /** The SDK's or the service's error code (`AccessDenied`, `MessagingEntityNotFound`), when it gave one. */
  readonly code: string | undefined;

  constructor(
    name: string,
    message: string,
    readonly status: number | undefined,
    readonly requestId: string | undefined,
    code?: string,
  ) {
    super(message);
    this.name = name;
    this.code = code;
  }

  /** The HTTP status, under the name the brief summaries use. */
  get statusCode(): number | undefined {
    return this.status;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, statusCode: this.status, requestId: this.requestId, message: this.message };
  }
}

interface SdkErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  Code?: unknown;
  statusCode?: unknown;
  status?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
}

/**
 * The sanitized summary of anything an SDK threw — `{ name, code, statusCode, message }`,
 * all redacted — to keep as a MeshError's `cause` in place of the SDK error.
 *
 * @example
 * catch (err) { throw new PublishFailedError(`PutEvents failed: ${redact(String(err))}`, { cause: errorSummary(err) }) }
 */
export function errorSummary(err: unknown, secrets: readonly (string | undefined)[] = []): ProviderErrorCause {
  const e = (err ?? {}) as SdkErrorLike;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const name = str(e.name) ?? (err instanceof Error ? err.name : 'Error');
  const message = str(e.message) ?? (err instanceof Error ? '' : String(err));
  const code = str(e.code) ?? str(e.Code);
  const requestId = str(e.$metadata?.requestId);
  return new ProviderErrorCause(
    redact(name, secrets),
    redact(message, secrets),
    num(e.$metadata?.httpStatusCode) ?? num(e.statusCode) ?? num(e.status),
    requestId === undefined ? undefined : redact(requestId, secrets),
    code === undefined ? undefined : redact(code, secrets),
  );
}
