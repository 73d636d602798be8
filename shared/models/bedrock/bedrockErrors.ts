/*
 * Bedrock runtime errors → the mesh's error tree. The service types its errors by the
 * `x-amzn-errortype` header, which the SDK turns into the error's `name`; the status code
 * decides for the names not listed here. Retryability follows what retrying can change:
 * throttling, a model still loading or a 5xx may pass later; a rejected request or a
 * refused identity will not.
 */
import { ModelAuthError, ModelRequestError, ModelThrottledError, ModelTimeoutError, ModelUnavailableError, type ErrorContext, type MeshError } from '../../core/errors.ts';
import { ProviderErrorCause, redact, redactOptional } from '../redact.ts';
import { headerGetter, retryAfterMs } from '../retryAfter.ts';

const THROTTLED = new Set(['ThrottlingException', 'ServiceQuotaExceededException', 'TooManyRequestsException']);
const UNAVAILABLE = new Set(['ServiceUnavailableException', 'ModelNotReadyException', 'InternalServerException', 'ModelErrorException', 'ModelStreamErrorException']);
const TIMEOUT = new Set(['ModelTimeoutException', 'TimeoutError', 'RequestTimeout']);
const AUTH = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);
const REJECTED = new Set(['ValidationException', 'ResourceNotFoundException', 'ConflictException']);
const NETWORK = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|ERR_HTTP2_\w+)$/;

interface SdkErrorLike {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { statusCode?: number; headers?: Record<string, string> };
}

/**
 * Translate whatever the Bedrock client threw. `aborted` is the per-call signal's state: an
 * abort is the mesh's own timeout, whatever the SDK called it. `secrets` are redacted from
 * the message (the SDK's text is the service's, not ours).
 *
 * @example
 * catch (err) { throw bedrockError(err, { endpointId, modelId, aborted: signal.aborted, context, secrets }) }
 */
export function bedrockError(
  err: unknown,
  opts: { endpointId: string; modelId: string; aborted: boolean; context: ErrorContext; secrets: readonly (string | undefined)[] },
): MeshError {
  const e = (err ?? {}) as SdkErrorLike;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  // The request id and the error type are the service's text too: a proxy may echo a credential in them.
  const requestId = redactOptional(e.$metadata?.requestId, opts.secrets);
  const detail = redact(`${name}: ${e.message ?? String(err)}`, opts.secrets);
  const message = `bedrock ${opts.endpointId} (${opts.modelId}): ${detail}${requestId ? ` [request ${requestId}]` : ''}`;
  const cause = new ProviderErrorCause(redact(name, opts.secrets), redact(e.message ?? '', opts.secrets), status, requestId, redactOptional(e.code, opts.secrets));
  const options = { cause, context: opts.context };

  if (opts.aborted || name === 'AbortError') return new ModelTimeoutError(`bedrock ${opts.endpointId} (${opts.modelId}): the call was aborted when its time budget ran out`, options);
  // The error type first (ModelNotReadyException comes as a 429 but is not throttling), then the status.
  const kind =
    THROTTLED.has(name) ? 'throttled'
    : UNAVAILABLE.has(name) ? 'unavailable'
    : TIMEOUT.has(name) ? 'timeout'
    : AUTH.has(name) ? 'auth'
    : REJECTED.has(name) ? 'rejected'
    : status === 429 ? 'throttled'
    : status === 408 ? 'timeout'
    : status === 401 || status === 403 ? 'auth'
    : status !== undefined && status >= 500 ? 'unavailable'
    : status !== undefined && status >= 400 ? 'rejected'
    : undefined;
  if (kind === 'throttled') {
    const hint = retryAfterMs(headerGetter(e.$response?.headers));
    return new ModelThrottledError(message, { ...options, ...(hint === undefined ? {} : { retryAfterMs: hint }) });
  }
  if (kind === 'timeout') return new ModelTimeoutError(message, options);
  if (kind === 'auth') return new ModelAuthError(message, options);
  if (kind === 'unavailable') return new ModelUnavailableError(message, options);
  if (kind === 'rejected') return new ModelRequestError(message, options);
  if (e.code !== undefined && NETWORK.test(e.code)) return new ModelUnavailableError(message, options);
  // Not an HTTP answer and not a known network failure: most likely the endpoint is unreachable.
  return new ModelUnavailableError(message, options);
}
