import type { ModelEndpoint } from '../catalogue.ts';

export interface ModelRequest {
  endpoint: ModelEndpoint;
  system?: string;
  prompt: string;
  /** JSON Schema of the expected answer; providers use their native structured-output mechanism. */
  outputSchema: Record<string, unknown>;
  /**
   * The route's output validator (problems as `path: message`, empty when valid). Adapters
   * that can converse send the problems back to the model once (a repair attempt) before
   * throwing ModelOutputInvalidError; without it they validate against `outputSchema`.
   */
  validate?: (output: unknown) => string[];
  maxTokens: number;
  temperature?: number;
  /** For logs and deterministic simulation only. */
  routeId: string;
  eventId: string;
  /** 1-based attempt number on this endpoint. */
  attempt: number;
}

export interface ModelUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface ModelResponse {
  /** The parsed JSON answer (not yet validated against the schema). */
  output: unknown;
  usage: ModelUsage;
  latencyMs: number;
}

/**
 * One model service. Throws MeshErrors only: ModelThrottledError (with retryAfterMs),
 * ModelTimeoutError, ModelUnavailableError, ModelRequestError, ModelAuthError,
 * ModelOutputInvalidError (answer not JSON).
 */
export interface ModelProvider {
  readonly kind: string;
  invoke(request: ModelRequest, signal: AbortSignal): Promise<ModelResponse>;
}
