import { usageCostMicroUsd } from './catalogue.ts';
import type { CloudEvent } from './cloudevent.ts';
import type { Envelope } from './envelope.ts';
import { resultId } from './ids.ts';
import type { ModelResponse } from './ports/ModelProvider.ts';
import type { PlacementDecision, RankedEndpoint } from './ports/Placer.ts';
import type { Attempt } from './ports/Store.ts';
import type { Route } from './route.ts';
import { formatTraceparent, type TraceContext } from './trace.ts';

/** Where a result came from: attached to every result event under `data.provenance`. */
export interface Provenance {
  route: string;
  endpoint: string;
  provider: string;
  model: string;
  cloud: string;
  region: string | null;
  scope: string;
  tier: number;
  distanceKm: number | null;
  /** The placement decision in one line (where the data is, the rule, the choice). */
  placement: string;
  tokens: { input: number; output: number };
  costUsd: number;
  latencyMs: number;
  attempts: number;
  /** Endpoints passed over, uncalled, at their rate limit (`<endpoint>: rpm 60 used in this minute, resets at …`); absent when none. */
  rateLimited?: string[];
}

/**
 * Which input a result answers, carried inside the result's data (the EventBridge Detail, the
 * Service Bus body, the CloudEvent data) so it survives transports that assign their own ids
 * and drop CloudEvents extensions: PutEvents does both. Schema: events/schemas/mesh-result.schema.json.
 */
export interface Lineage {
  /** The result's deterministic id (route id + input id): the same on every retry and replay. */
  resultId: string;
  /** The input event's id. */
  inputId: string;
  inputSource: string;
  inputType: string;
  /** The input's correlation id, or the input id when it had none. */
  correlationId: string;
  route: string;
  /** W3C trace context of the span that sent the result (the input's trace id): EventBridge keeps no extensions, so it travels here too. */
  traceparent?: string;
  tracestate?: string;
}

export interface BuildResultOptions {
  route: Route;
  input: Envelope;
  response: ModelResponse;
  chosen: RankedEndpoint;
  attempts: Attempt[];
  placement: PlacementDecision;
  placementSummary: string;
  now: Date;
}

/**
 * The result event of a route for one input event.
 *
 * `id` is derived from route id + input id, so a retry or replay yields the same id and
 * downstream duplicate detection works. `data` is `{ result, provenance, lineage }`: the
 * model's answer (valid against the route's output schema) beside where and how it was
 * produced and which input it answers.
 * `correlationid` follows the input's (or starts at the input's id); `causationid` is the input id.
 */
export function buildResultEnvelope(opts: BuildResultOptions): Envelope {
  const { route, input, response, chosen } = opts;
  const endpoint = chosen.endpoint;
  const inEvent = input.event;
  const costUsd = usageCostMicroUsd(endpoint, response.usage) / 1_000_000;
  const provenance: Provenance = {
    route: route.id,
    endpoint: endpoint.id,
    provider: endpoint.provider,
    model: endpoint.model,
    cloud: endpoint.cloud,
    region: endpoint.region ?? null,
    scope: endpoint.scope,
    tier: chosen.tier,
    distanceKm: chosen.distanceKm === null ? null : Math.round(chosen.distanceKm),
    placement: opts.placementSummary,
    tokens: { input: response.usage.inputTokens, output: response.usage.outputTokens },
    costUsd: Number(costUsd.toFixed(8)),
    latencyMs: Math.round(response.latencyMs),
    attempts: opts.attempts.length,
  };
  const rateLimited = opts.attempts.filter((a) => a.error?.code === 'RateLimited').map((a) => `${a.endpoint}: ${a.error!.message}`);
  if (rateLimited.length > 0) provenance.rateLimited = rateLimited;
  const correlation = inEvent.extensions.correlationid;
  const correlationId = typeof correlation === 'string' && correlation !== '' ? correlation : inEvent.id;
  const id = resultId(route.id, inEvent.id);
  const lineage: Lineage = { resultId: id, inputId: inEvent.id, inputSource: inEvent.source, inputType: inEvent.type, correlationId, route: route.id };
  const event: CloudEvent = {
    specversion: '1.0',
    id,
    source: route.emit.source,
    type: route.emit.detailType,
    time: opts.now.toISOString(),
    subject: inEvent.id,
    datacontenttype: 'application/json',
    data: { result: response.output, provenance, lineage },
    extensions: {
      correlationid: correlationId,
      causationid: inEvent.id,
      meshroute: route.id,
      meshendpoint: endpoint.id,
      meshprovider: endpoint.provider,
    },
  };
  // Results are published back where the input came from, so they carry its origin.
  const { deliveryCount: _drop, ...origin } = input.origin;
  return { event, origin };
}

/**
 * Stamp a result with the trace context it is sent under: the CloudEvents distributed-tracing
 * extension (`traceparent`, `tracestate`) and the same in `data.lineage`, which survives
 * EventBridge. Publishers turn it into their transport's headers.
 */
export function stampTraceContext(result: Envelope, ctx: TraceContext): void {
  const traceparent = formatTraceparent(ctx);
  const ext = result.event.extensions;
  ext.traceparent = traceparent;
  if (ctx.tracestate === undefined) delete ext.tracestate;
  else ext.tracestate = ctx.tracestate;
  const lineage = (result.event.data as { lineage?: Lineage } | undefined)?.lineage;
  if (lineage) {
    lineage.traceparent = traceparent;
    if (ctx.tracestate === undefined) delete lineage.tracestate;
    else lineage.tracestate = ctx.tracestate;
  }
}
