import type { ModelEndpoint } from '../catalogue.ts';
import type { Destination } from '../catalogue.ts';
import type { Envelope } from '../envelope.ts';
import type { MeshError } from '../errors.ts';
import type { TraceContext } from '../trace.ts';
import type { ModelUsage } from './ModelProvider.ts';

/*
 * Spans and metrics of the pipeline, behind a port so the core imports no telemetry library.
 * The OpenTelemetry adapter (shared/telemetry) records messaging and GenAI spans; without a
 * registered SDK it records nothing and only carries the trace context along.
 */

/** One route's run on one event (a messaging `process` span). */
export interface RouteTrace {
  /** The context the route's work runs under. */
  readonly context: TraceContext;
  /** One model call (a GenAI `chat` span, and the GenAI client metrics). */
  modelCall(endpoint: ModelEndpoint, request: { maxTokens: number; temperature?: number }): ModelCallTrace;
  /** Publishing the result (a messaging `send` span): its context is what the result carries. */
  send(destinations: Destination[], result: Envelope): SendTrace;
  end(outcome: { status: string; error?: MeshError }): void;
}

export interface ModelCallTrace {
  end(outcome: { usage?: ModelUsage; error?: MeshError }): void;
}

export interface SendTrace {
  readonly context: TraceContext;
  end(error?: MeshError): void;
}

export interface Telemetry {
  /**
   * Start a route's run on `envelope`, under `parent` (the input's trace context, else the
   * host's); without a parent it starts a new trace.
   */
  route(routeId: string, envelope: Envelope, parent: TraceContext | undefined): RouteTrace;
}
