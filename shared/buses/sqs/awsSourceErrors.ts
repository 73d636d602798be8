/*
 * Errors of the places failed events are read from (an SQS dead-letter queue, an
 * EventBridge archive) → the mesh's error tree. Each says what to check, because the
 * engineer reading it is on call and the SDK's own text rarely does.
 */
import { MeshError, type ErrorContext } from '../../core/errors.ts';
import { errorSummary, redact } from '../../models/redact.ts';

/** The queue or archive does not exist (or not in this account and region). */
export class SourceNotFoundError extends MeshError {
  override readonly name = 'SourceNotFoundError';
  readonly code = 'SourceNotFound';
  readonly retryable = false;
}

/** Our identity may not read or change the queue or archive. */
export class SourceAccessDeniedError extends MeshError {
  override readonly name = 'SourceAccessDeniedError';
  readonly code = 'SourceAccessDenied';
  readonly retryable = false;
}

/** The service could not be reached, or failed on its side. */
export class SourceUnreachableError extends MeshError {
  override readonly name = 'SourceUnreachableError';
  readonly code = 'SourceUnreachable';
  readonly retryable = true;
}

/** The service refused the request itself (a bad time window, a replay name in use, …). */
export class SourceRequestError extends MeshError {
  override readonly name: string = 'SourceRequestError';
  readonly code = 'SourceRequestRejected';
  readonly retryable = false;
}

const NOT_FOUND = /^(QueueDoesNotExist|AWS\.SimpleQueueService\.NonExistentQueue|ResourceNotFoundException|ResourceNotFound)$/;
const DENIED =
  /^(AccessDenied|AccessDeniedException|UnrecognizedClientException|InvalidClientTokenId|InvalidSignatureException|SignatureDoesNotMatch|IncompleteSignature|MissingAuthenticationToken|ExpiredToken|ExpiredTokenException|CredentialsProviderError|KMS\..*)$/;
const NETWORK = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|UND_ERR_\w+)$/;

interface SdkErrorLike {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

export interface SourceErrorTarget {
  /** `SQS` or `EventBridge`: which service, for the message. */
  service: 'SQS' | 'EventBridge';
  /** The queue URL or archive name the call was about. */
  resource: string;
  /** The environment variable that overrides this service's endpoint. */
  endpointVariable: string;
  /** The permission the call needs, e.g. `sqs:ReceiveMessage`. */
  permission: string;
}

/**
 * Translate what an SQS or EventBridge client threw into a MeshError that says what to check.
 *
 * @example
 * catch (err) { throw awsSourceError(err, { service: 'SQS', resource: url, endpointVariable: 'AWS_ENDPOINT_URL_SQS', permission: 'sqs:ReceiveMessage' }) }
 */
export function awsSourceError(err: unknown, target: SourceErrorTarget): MeshError {
  if (err instanceof MeshError) return err;
  const e = (err ?? {}) as SdkErrorLike;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const requestId = e.$metadata?.requestId;
  // The service's text, request id included, is redacted: an endpoint or a proxy may echo a credential.
  const said = redact(`${name}: ${e.message ?? String(err)}${requestId ? ` [request ${requestId}]` : ''}`);
  const context: ErrorContext = { source: target.resource, service: target.service, ...(status === undefined ? {} : { status }) };
  // A summary, not the SDK error: that one holds the response and its headers.
  const options = { cause: errorSummary(err), context };
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? '(from your profile)';
  const codes = [name, e.Code].filter((c): c is string => typeof c === 'string');

  if (codes.some((c) => NOT_FOUND.test(c)) || status === 404) {
    return new SourceNotFoundError(
      `${target.service} says ${target.resource} does not exist (${said}). Check the name or URL, the account, and the region (AWS_REGION is ${region}).`,
      options,
    );
  }
  if (codes.some((c) => DENIED.test(c)) || status === 401 || status === 403) {
    return new SourceAccessDeniedError(
      `${target.service} refused access to ${target.resource} (${said}). Check the credentials in use (AWS_PROFILE or AWS_ACCESS_KEY_ID) and that they allow ${target.permission}.`,
      options,
    );
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new SourceRequestError(`${target.service} rejected the request for ${target.resource}: ${said}`, options);
  }
  const endpoint = process.env[target.endpointVariable] ?? process.env.AWS_ENDPOINT_URL;
  const via = endpoint ? `${endpoint} (from ${process.env[target.endpointVariable] ? target.endpointVariable : 'AWS_ENDPOINT_URL'})` : `the ${target.service} endpoint of region ${region}`;
  const network = e.code !== undefined && NETWORK.test(e.code) ? ' (network error)' : '';
  return new SourceUnreachableError(
    `could not reach ${target.service} for ${target.resource} at ${via}${network}: ${said}. Check the network, the region, and ${target.endpointVariable} if you use a local endpoint.`,
    options,
  );
}
