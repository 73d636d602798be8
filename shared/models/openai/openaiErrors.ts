/*
 * openai-node errors → the mesh's error tree, for OpenAI, Azure OpenAI and compatible
 * servers. The status decides, with two refinements: a 429 that says the quota is used up
 * is not worth retrying, and Azure's 400 `content_filter` gets a message that says which
 * categories fired. Messages are built from the status, the error code and the server's
 * message, redacted: a compatible server may echo the key it was sent.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai/core/error';
import { ModelAuthError, ModelRequestError, ModelThrottledError, ModelTimeoutError, ModelUnavailableError, type ErrorContext, type MeshError } from '../../core/errors.ts';
import { ProviderErrorCause, redact, redactOptional } from '../redact.ts';
import { retryAfterMs } from '../retryAfter.ts';
import { filteredCategories } from './chat.ts';

export interface OpenAIErrorOptions {
  /** `openai` or `azure-openai`, for the message. */
  provider: string;
  endpointId: string;
  aborted: boolean;
  context: ErrorContext;
  secrets: readonly (string | undefined)[];
}

/**
 * Translate whatever the openai client threw.
 *
 * @example
 * catch (err) { throw openaiError(err, { provider: 'openai', endpointId, aborted: signal.aborted, context, secrets: [apiKey] }) }
 */
export function openaiError(err: unknown, opts: OpenAIErrorOptions): MeshError {
  const where = `${opts.provider} ${opts.endpointId}`;
  const status = err instanceof APIError ? err.status : undefined;
  // The request id is the server's text too: a proxy may put the key it was sent in it.
  const requestId = redactOptional(err instanceof APIError ? err.requestID : undefined, opts.secrets);
  const body = err instanceof APIError ? ((err.error ?? {}) as { code?: unknown; message?: unknown; innererror?: { content_filter_result?: unknown } }) : {};
  const code = typeof body.code === 'string' ? body.code : err instanceof APIError && typeof err.code === 'string' ? err.code : undefined;
  const serverMessage = typeof body.message === 'string' ? body.message : err instanceof Error ? err.message : String(err);
  const detail = redact(`${status ?? (err instanceof Error ? err.name : 'error')}${code ? ` ${code}` : ''}: ${serverMessage}`, opts.secrets);
  const message = `${where}: ${detail}${requestId ? ` [request ${requestId}]` : ''}`;
  const cause = new ProviderErrorCause(err instanceof Error ? err.name : 'Error', redact(serverMessage, opts.secrets), status, requestId, redactOptional(code, opts.secrets));
  const options = { cause, context: opts.context };

  if (opts.aborted || err instanceof APIUserAbortError) return new ModelTimeoutError(`${where}: the call was aborted when its time budget ran out`, options);
  if (err instanceof APIConnectionTimeoutError) return new ModelTimeoutError(message, options);
  if (err instanceof APIConnectionError) return new ModelUnavailableError(message, options);
  if (status === 429) {
    if (code === 'insufficient_quota') return new ModelRequestError(`${message} (the account's quota is used up; retrying will not help)`, options);
    const hint = err instanceof APIError && err.headers ? retryAfterMs((name) => err.headers?.get(name)) : undefined;
    return new ModelThrottledError(message, { ...options, ...(hint === undefined ? {} : { retryAfterMs: hint }) });
  }
  if (code === 'content_filter') {
    const categories = filteredCategories(body.innererror?.content_filter_result);
    return new ModelRequestError(
      `${where}: the prompt was blocked by the content filter${categories ? ` (${categories})` : ''}; retrying the same event will not help${requestId ? ` [request ${requestId}]` : ''}`,
      options,
    );
  }
  if (status === 401 || status === 403) return new ModelAuthError(message, options);
  if (status === 408) return new ModelTimeoutError(message, options);
  if (status !== undefined && status >= 500) return new ModelUnavailableError(message, options);
  if (status !== undefined && status >= 400) return new ModelRequestError(message, options);
  // Thrown before any request (the client refused its configuration): retrying will not help.
  return new ModelRequestError(message, options);
}
