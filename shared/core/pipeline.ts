import type { Destination, MeshConfig } from './catalogue.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Envelope } from './envelope.ts';
import { PolicyViolationError, PublishFailedError, PublishRejectedError, toMeshError, type MeshError } from './errors.ts';
import { toEventBridgeEvent } from './eventbridge.ts';
import { nameUuid } from './ids.ts';
import { InvokeFailure, invokeWithFailover, type ProviderLookup } from './invoke.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { EndpointHealth, PlacementDecision, Placer } from './ports/Placer.ts';
import type { Publisher } from './ports/Publisher.ts';
import type { RouteMatcher } from './ports/RouteMatcher.ts';
import type { Attempt, Store } from './ports/Store.ts';
import { buildResultEnvelope } from './result.ts';
import type { Route } from './route.ts';
import { renderTemplate } from './template.ts';

export interface PipelineOptions {
  config: MeshConfig;
  routes: Route[];
  matcher: RouteMatcher;
  placer: Placer;
  providers: ProviderLookup;
  publisher: Publisher;
  store: Store;
  /** One line per placement for logs and provenance. */
  summarizePlacement: (decision: PlacementDecision) => string;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  /** Endpoint circuits, told the outcome of every model call (the placer reads the same instance). */
  health?: EndpointHealth;
}

export type RouteStatus = 'emitted' | 'duplicate' | 'in-progress' | 'failed';

export interface RouteOutcome {
  routeId: string;
  status: RouteStatus;
  /** The result id: set when emitted or a duplicate of an earlier result. */
  resultId?: string;
  result?: Envelope;
  placement?: PlacementDecision;
  endpoint?: string;
  destinations?: string[];
  latencyMs: number;
  attempts: Attempt[];
  error?: MeshError;
  /** Ledger id of the failure record, when failed. */
  failureId?: string;
}

export interface EventOutcome {
  eventId: string;
  type: string;
  source: string;
  routes: RouteOutcome[];
}

export interface RouteRunOptions {
  signal?: AbortSignal;
  /**
   * Use only this catalogue endpoint (`mesh replay --model`). It must still be one the
   * residency policy allows: pinning never reaches a forbidden endpoint.
   */
  onlyEndpoint?: string;
}

export interface ProcessOptions {
  /** Aborts when the host's time is nearly up (Lambda remaining time); routes also have their own budget. */
  signal?: AbortSignal;
  /** Skip writing the input to the event log (a replay already has it). */
  skipInputLog?: boolean;
}

/** The failure ledger id for a route + event: stable, so repeated failures update one record. */
export function failureId(routeId: string, eventId: string): string {
  return nameUuid(`nearmesh:failure:${routeId.length}:${routeId}:${eventId}`);
}

/**
 * The mesh's one pipeline: match → place → invoke → emit, failures to the ledger.
 * Local dev, Lambda and Azure Functions all call `process` with a decoded envelope; only
 * the adapters around it differ.
 */
export class Pipeline {
  private readonly routesById: Map<string, Route>;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly opts: PipelineOptions) {
    this.routesById = new Map(opts.routes.map((r) => [r.id, r]));
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
  }

  get routes(): Route[] {
    return this.opts.routes;
  }

  /** Process one decoded event through every route that matches it. Never throws for per-route failures. */
  async process(envelope: Envelope, options: ProcessOptions = {}): Promise<EventOutcome> {
    const { event } = envelope;
    if (!options.skipInputLog) {
      await this.opts.store.events.append({
        at: this.clock.now().toISOString(),
        kind: 'input',
        eventId: event.id,
        type: event.type,
        source: event.source,
        envelope,
      });
    }
    const matched = this.opts.matcher.matches(toEventBridgeEvent(envelope));
    const routes = await Promise.all(
      matched.map((id) => this.processRoute(this.routesById.get(id)!, envelope, options.signal ? { signal: options.signal } : {})),
    );
    return { eventId: event.id, type: event.type, source: event.source, routes };
  }

  /** Run one route on one event (a replay does, with its failure's route). */
  async processRoute(route: Route, envelope: Envelope, options: RouteRunOptions = {}): Promise<RouteOutcome> {
    const outer = options.signal;
    const started = this.clock.now().getTime();
    const eventId = envelope.event.id;
    const key = `${route.id}:${eventId}`;
    const elapsed = () => this.clock.now().getTime() - started;
    const { store } = this.opts;

    const claim = await store.idempotency.begin(key, new Date(started + route.task.timeoutMs * 2));
    if (claim.state === 'completed') {
      this.logger.info('duplicate delivery: result already emitted', { routeId: route.id, eventId, resultId: claim.resultId });
      return { routeId: route.id, status: 'duplicate', resultId: claim.resultId, latencyMs: elapsed(), attempts: [] };
    }
    if (claim.state === 'in-progress') {
      return { routeId: route.id, status: 'in-progress', latencyMs: elapsed(), attempts: [] };
    }

    let placement: PlacementDecision | undefined;
    let attempts: Attempt[] = [];
    const budget = AbortSignal.timeout(route.task.timeoutMs);
    const signal = outer ? AbortSignal.any([budget, outer]) : budget;
    try {
      placement = this.opts.placer.place(route, envelope);
      if (options.onlyEndpoint !== undefined) placement = pinEndpoint(placement, options.onlyEndpoint, eventId);
      const view = toEventBridgeEvent(envelope);
      const ctx = { routeId: route.id, eventId };
      const system = route.task.system === undefined ? undefined : renderTemplate(route.task.system, view, { ...ctx, field: 'task.system' });
      const prompt = renderTemplate(route.task.prompt, view, { ...ctx, field: 'task.prompt' });
      const invoked = await invokeWithFailover({
        route,
        eventId,
        ranked: placement.ranked,
        ...(system === undefined ? {} : { system }),
        prompt,
        providers: this.opts.providers,
        clock: this.clock,
        logger: this.logger,
        signal,
        ...(this.opts.random ? { random: this.opts.random } : {}),
        ...(this.opts.health ? { health: this.opts.health } : {}),
      });
      attempts = invoked.attempts;
      const result = buildResultEnvelope({
        route,
        input: envelope,
        response: invoked.response,
        chosen: invoked.chosen,
        attempts,
        placement,
        placementSummary: this.opts.summarizePlacement(placement),
        now: this.clock.now(),
      });
      const destinations = await this.publish(route, envelope, result);
      await store.idempotency.complete(key, result.event.id);
      await this.resolveEarlierFailure(route.id, eventId);
      const outcome: RouteOutcome = {
        routeId: route.id,
        status: 'emitted',
        resultId: result.event.id,
        result,
        placement,
        endpoint: invoked.chosen.endpoint.id,
        destinations,
        latencyMs: elapsed(),
        attempts,
      };
      this.logger.info('result emitted', { routeId: route.id, eventId, resultId: result.event.id, endpoint: outcome.endpoint, latencyMs: outcome.latencyMs });
      return outcome;
    } catch (err) {
      if (err instanceof InvokeFailure) attempts = err.attempts;
      const error = toMeshError(err instanceof InvokeFailure ? err.error : err, { routeId: route.id, eventId });
      if (!placement && error.context.placement) placement = error.context.placement as PlacementDecision;
      await store.idempotency.release(key);
      const id = failureId(route.id, eventId);
      await store.failures.recordFailure({
        id,
        at: this.clock.now().toISOString(),
        eventId,
        routeId: route.id,
        errorCode: error.code,
        message: error.message,
        retryable: error.retryable,
        attempts,
        ...(placement ? { placement } : {}),
        envelope,
        status: 'open',
        failures: 1,
      });
      this.logger.error('route failed; failure recorded with its event', { routeId: route.id, eventId, failureId: id, code: error.code, message: error.message });
      return { routeId: route.id, status: 'failed', ...(placement ? { placement } : {}), latencyMs: elapsed(), attempts, error, failureId: id };
    }
  }

  private async publish(route: Route, input: Envelope, result: Envelope): Promise<string[]> {
    const destinations = route.emit.to.length > 0 ? route.emit.to.map((name) => this.opts.config.destinations[name]!) : [originDestination(input)];
    for (const destination of destinations) {
      const [outcome] = await this.opts.publisher.publish(destination, [result]);
      if (!outcome || !outcome.ok) {
        const cause = outcome && !outcome.ok ? outcome.error : undefined;
        const message = `could not publish result ${result.event.id} to destination ${destination.name}: ${cause?.message ?? 'no outcome'}`;
        const options = { cause, context: { routeId: route.id, eventId: input.event.id, destination: destination.name } };
        // Keep the publisher's verdict: a rejection retrying cannot fix goes to the DLQ at once.
        throw cause && !cause.retryable ? new PublishRejectedError(message, options) : new PublishFailedError(message, options);
      }
    }
    return destinations.map((d) => d.name);
  }

  private async resolveEarlierFailure(routeId: string, eventId: string): Promise<void> {
    const id = failureId(routeId, eventId);
    const earlier = await this.opts.store.failures.getFailure(id);
    if (earlier && earlier.status === 'open') await this.opts.store.failures.resolveFailure(id);
  }
}

/** Narrow a decision to one endpoint, or fail as a policy violation saying why it is not allowed. */
function pinEndpoint(decision: PlacementDecision, endpointId: string, eventId: string): PlacementDecision {
  const kept = decision.ranked.filter((r) => r.endpoint.id === endpointId);
  if (kept.length > 0) return { ...decision, ranked: kept };
  const rejected = decision.rejected.find((r) => r.endpointId === endpointId);
  const why = rejected ? rejected.reason : 'it is not in the catalogue';
  throw new PolicyViolationError(`endpoint ${endpointId} may not serve route ${decision.routeId} for event ${eventId}: ${why}`, {
    context: { routeId: decision.routeId, eventId, endpoint: endpointId, placement: decision },
  });
}

/** Results go back to the bus the event came from when a route names no destination. */
export function originDestination(input: Envelope): Destination {
  const o = input.origin;
  switch (o.transport) {
    case 'eventbridge':
      return { name: `eventbridge:${o.bus ?? 'default'}`, kind: 'eventbridge', bus: o.bus ?? 'default', ...(o.region ? { region: o.region } : {}) };
    case 'servicebus':
      return { name: `servicebus:${o.namespace ?? ''}/${o.bus ?? ''}`, kind: 'servicebus', ...(o.namespace ? { namespace: o.namespace } : {}), ...(o.bus ? { entity: o.bus } : {}) };
    default:
      return { name: 'local', kind: 'local' };
  }
}
