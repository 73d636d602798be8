import {
  createTraceState,
  isSpanContextValid,
  metrics,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Histogram,
  type MeterProvider,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api';
import { newTraceContext, type Destination, type Envelope, type ModelEndpoint, type RouteTrace, type Telemetry, type TraceContext } from '../core/index.ts';
import { destinationAttributes, GEN_AI_DURATION_BUCKETS, GEN_AI_TOKEN_BUCKETS, genAiProvider, originAttributes } from './semconv.ts';

export interface OpenTelemetryOptions {
  /** Default: the global one (`trace.setGlobalTracerProvider`), looked up on every span, so an SDK registered later counts. */
  tracerProvider?: TracerProvider;
  /** Default: the global one, looked up when a metric is recorded. */
  meterProvider?: MeterProvider;
}

const SCOPE = 'nearmesh';

/**
 * The pipeline's telemetry through the OpenTelemetry API, with the semantic conventions:
 * per route a messaging `process` span (CONSUMER) under the input's trace context; per model
 * call a GenAI `chat` span (CLIENT) with its token usage, and the metrics
 * `gen_ai.client.token.usage` and `gen_ai.client.operation.duration`; per result a messaging
 * `send` span (PRODUCER) whose context the result carries. Without an SDK registered the API
 * is a no-op: nothing is recorded and the input's context is passed on unchanged.
 *
 * @example
 * new Pipeline({ ...parts, telemetry: openTelemetry() });
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): Telemetry {
  const tracer = () => (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE);
  let instruments: { provider: MeterProvider; tokens: Histogram; duration: Histogram } | undefined;
  const genAi = () => {
    const provider = options.meterProvider ?? metrics.getMeterProvider();
    if (instruments?.provider !== provider) {
      const meter = provider.getMeter(SCOPE);
      instruments = {
        provider,
        tokens: meter.createHistogram('gen_ai.client.token.usage', {
          description: 'Number of input and output tokens used',
          unit: '{token}',
          advice: { explicitBucketBoundaries: GEN_AI_TOKEN_BUCKETS },
        }),
        duration: meter.createHistogram('gen_ai.client.operation.duration', {
          description: 'GenAI operation duration',
          unit: 's',
          advice: { explicitBucketBoundaries: GEN_AI_DURATION_BUCKETS },
        }),
      };
    }
    return instruments;
  };

  return {
    route(routeId: string, envelope: Envelope, parent: TraceContext | undefined): RouteTrace {
      const origin = originAttributes(envelope);
      const span = tracer().startSpan(
        origin.destination === undefined ? 'process' : `process ${origin.destination}`,
        { kind: SpanKind.CONSUMER, attributes: { ...origin.attributes, 'nearmesh.route': routeId } },
        parent === undefined ? ROOT_CONTEXT : remoteContext(parent),
      );
      const context = contextOf(span) ?? parent ?? newTraceContext();
      const under = trace.setSpan(ROOT_CONTEXT, span);
      return {
        context,
        modelCall(endpoint: ModelEndpoint, request: { maxTokens: number; temperature?: number }) {
          const common: Attributes = {
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': genAiProvider(endpoint.provider),
            'gen_ai.request.model': endpoint.model,
          };
          const call = tracer().startSpan(
            `chat ${endpoint.model}`,
            {
              kind: SpanKind.CLIENT,
              attributes: {
                ...common,
                'gen_ai.request.max_tokens': request.maxTokens,
                ...(request.temperature === undefined ? {} : { 'gen_ai.request.temperature': request.temperature }),
                'nearmesh.endpoint': endpoint.id,
                ...(endpoint.region === undefined ? {} : { 'cloud.region': endpoint.region }),
              },
            },
            under,
          );
          const started = performance.now();
          return {
            end({ usage, error }) {
              const { tokens, duration } = genAi();
              if (usage) {
                call.setAttributes({ 'gen_ai.usage.input_tokens': usage.inputTokens, 'gen_ai.usage.output_tokens': usage.outputTokens });
                tokens.record(usage.inputTokens, { ...common, 'gen_ai.token.type': 'input' });
                tokens.record(usage.outputTokens, { ...common, 'gen_ai.token.type': 'output' });
              }
              duration.record((performance.now() - started) / 1000, error ? { ...common, 'error.type': error.code } : common);
              endSpan(call, error?.code);
            },
          };
        },
        send(destinations: Destination[], result: Envelope) {
          const one = destinations.length === 1 ? destinationAttributes(destinations[0]!) : undefined;
          const s = tracer().startSpan(
            one ? `send ${one.destination}` : 'send',
            {
              kind: SpanKind.PRODUCER,
              attributes: {
                ...(one?.attributes ?? { 'messaging.operation.name': 'send', 'messaging.operation.type': 'send' }),
                'messaging.message.id': result.event.id,
                'nearmesh.route': routeId,
                'nearmesh.destinations': destinations.map((d) => d.name),
              },
            },
            under,
          );
          return { context: contextOf(s) ?? context, end: (error) => endSpan(s, error?.code) };
        },
        end({ status, error }) {
          span.setAttribute('nearmesh.route.status', status);
          endSpan(span, status === 'failed' ? (error?.code ?? 'Internal') : undefined);
        },
      };
    },
  };
}

/** The API context whose span is the remote parent `ctx`. */
function remoteContext(ctx: TraceContext): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    traceFlags: ctx.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
    ...(ctx.tracestate === undefined ? {} : { traceState: createTraceState(ctx.tracestate) }),
  });
}

/** The span's context in W3C terms; undefined for the invalid context a no-op tracer gives a root span. */
function contextOf(span: Span): TraceContext | undefined {
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return undefined;
  const state = sc.traceState?.serialize();
  return { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED, ...(state ? { tracestate: state } : {}) };
}

function endSpan(span: Span, errorType: string | undefined): void {
  if (errorType !== undefined) {
    span.setAttribute('error.type', errorType);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}
