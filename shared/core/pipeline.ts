import type { Destination, MeshConfig } from './catalogue.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Envelope } from './envelope.ts';
import { ClaimLostError, ConfigError, MeshError, PolicyViolationError, PublishFailedError, PublishRejectedError, RouteNotLoadedError, StoreUnavailableError, toMeshError } from './errors.ts';
import { toEventBridgeEvent } from './eventbridge.ts';
import { nameUuid } from './ids.ts';
import { InvokeFailure, invokeWithFailover, type ProviderLookup } from './invoke.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { AuditLog } from './ports/AuditLog.ts';
import type { EndpointHealth, PlacementDecision, Placer } from './ports/Placer.ts';
import type { Publisher } from './ports/Publisher.ts';
import type { RouteMatcher } from './ports/RouteMatcher.ts';
import type { Attempt, IdempotencyBegin, Store } from './ports/Store.ts';
import { ApprovalDesk } from './approvals.ts';
import { approvalEventOutcome, isApprovalEvent } from './approvalEvents.ts';
import type { UsageCounters } from './ports/Counters.ts';
import type { RouteTrace, Telemetry } from './ports/Telemetry.ts';
import { propagateOnly } from './propagateOnly.ts';
import { buildResultEnvelope, stampTraceContext } from './result.ts';
import type { Route } from './route.ts';
import { renderTemplate } from './template.ts';
import { inputTraceContext, type TraceContext } from './trace.ts';
import { requireCounters, UsageGate } from './usageGate.ts';

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
  /** How long the claim is held for publishing once the model answered. Default 30 s. */
  publishHoldMs?: number;
  /** Given one record per model invocation attempt. Default: none. */
  audit?: AuditLog;
  /**
   * Counters for route budgets and endpoint rate limits. Default: the store's. Required when a
   * route has `task.budget` or an endpoint `limits` (the constructor throws ConfigError otherwise).
   */
  counters?: UsageCounters;
  /** Spans and metrics; default: none recorded, the trace context still carried to results. */
  telemetry?: Telemetry;
}

/**
 * `pending-approval`: the result is held and its PendingApproval event published; `approved` /
 * `rejected`: an approval event decided a held result (`duplicate` when it was decided so before).
 */
export type RouteStatus = 'emitted' | 'duplicate' | 'in-progress' | 'failed' | 'pending-approval' | 'approved' | 'rejected';

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
  /** The host's trace context (Lambda's `_X_AMZN_TRACE_ID`), for an event that carries none. */
  trace?: TraceContext;
}

export interface ProcessOptions {
  /** Aborts when the host's time is nearly up (Lambda remaining time); routes also have their own budget. */
  signal?: AbortSignal;
  /** Skip writing the input to the event log (a replay already has it). */
  skipInputLog?: boolean;
  /**
   * Run only this route, without matching: the delivery was made for it (an EventBridge rule
   * generated from the route). A route this deployment does not load fails with ConfigError.
   */
  route?: string;
  /** The host's trace context, for an event that carries none. */
  trace?: TraceContext;
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
  private readonly publishHoldMs: number;
  private readonly usage: UsageGate | undefined;
  /** Held results and decisions on them; absent when the store keeps none. */
  readonly approvals: ApprovalDesk | undefined;

  constructor(private readonly opts: PipelineOptions) {
    this.routesById = new Map(opts.routes.map((r) => [r.id, r]));
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    this.publishHoldMs = opts.publishHoldMs ?? 30_000;
    const counters = opts.counters ?? opts.store.counters;
    requireCounters(opts.config, opts.routes, counters);
    this.usage = counters ? new UsageGate({ counters, clock: this.clock, logger: this.logger }) : undefined;
    const approvals = opts.store.approvals;
    this.approvals = approvals ? new ApprovalDesk({ approvals, publisher: opts.publisher, clock: this.clock, logger: this.logger }) : undefined;
    const needing = opts.routes.filter((r) => r.approval === 'required');
    if (needing.length > 0 && !this.approvals) {
      throw new ConfigError(needing.map((r) => ({ file: r.file, path: 'approval', message: `route ${r.id} requires approval, but this edge's store keeps no held results` })));
    }
  }

  get routes(): Route[] {
    return this.opts.routes;
  }

  /**
   * Process one decoded event through every route that matches it (or only `options.route`,
   * for a delivery that was made for one route). Settles every route before it returns: a
   * route's failure, even a store failure while recording it, is that route's outcome and
   * never leaves a sibling route running.
   */
  async process(envelope: Envelope, options: ProcessOptions = {}): Promise<EventOutcome> {
    return this.inUnitOfWork(
      () => this.processEvent(envelope, options),
      (outcome, err) => ({ ...outcome, routes: outcome.routes.map((r) => this.notDurable(r, envelope.event.id, err)) }),
    );
  }

  /**
   * Runs `run` as one unit of work when the store has one. If what it wrote could not be
   * committed, `notKept` turns what it returned into the outcome to report; a failure before
   * `run` returned is rethrown as it was.
   */
  private async inUnitOfWork<T>(run: () => Promise<T>, notKept: (done: T, err: unknown) => T): Promise<T> {
    const { store } = this.opts;
    if (!store.unitOfWork) return run();
    let done: { value: T } | undefined;
    try {
      return await store.unitOfWork(async () => (done = { value: await run() }).value);
    } catch (err) {
      if (!done) throw err;
      return notKept(done.value, err);
    }
  }

  private async processEvent(envelope: Envelope, options: ProcessOptions): Promise<EventOutcome> {
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
    if (this.approvals && isApprovalEvent(envelope)) {
      return approvalEventOutcome(this.approvals, envelope, { source: this.opts.config.approvals?.source, clock: this.clock, logger: this.logger });
    }
    const ids = options.route !== undefined ? [options.route] : this.opts.matcher.matches(toEventBridgeEvent(envelope));
    const runOptions: RouteRunOptions = { ...(options.signal ? { signal: options.signal } : {}), ...(options.trace ? { trace: options.trace } : {}) };
    const routes = await Promise.all(
      ids.map((id) => {
        const route = this.routesById.get(id);
        if (route) return this.settledRoute(route, envelope, runOptions);
        const error = new RouteNotLoadedError(`route ${id} is not loaded by this deployment: deploy the function from the route files its rules were generated from`, { context: { routeId: id, eventId: event.id } });
        return Promise.resolve<RouteOutcome>({ routeId: id, status: 'failed', latencyMs: 0, attempts: [], error });
      }),
    );
    return { eventId: event.id, type: event.type, source: event.source, routes };
  }

  /** `processRoute`, turned into an outcome whatever happens (it is written not to throw; this is the guarantee). */
  private async settledRoute(route: Route, envelope: Envelope, options: RouteRunOptions): Promise<RouteOutcome> {
    try {
      return await this.tracedRoute(route, envelope, options);
    } catch (err) {
      const error = retryableStoreFailure(err, route.id, envelope.event.id);
      this.logger.error('route failed outside its own handling; reported as retryable', { routeId: route.id, eventId: envelope.event.id, code: error.code, message: error.message });
      return { routeId: route.id, status: 'failed', latencyMs: 0, attempts: [], error };
    }
  }

  /**
   * Run one route on one event (a replay does, with its failure's route). Never rejects: the
   * claim, the model call, the publish and the failure record each end as this route's outcome.
   */
  async processRoute(route: Route, envelope: Envelope, options: RouteRunOptions = {}): Promise<RouteOutcome> {
    return this.inUnitOfWork(
      () => this.tracedRoute(route, envelope, options),
      (outcome, err) => this.notDurable(outcome, envelope.event.id, err),
    );
  }

  /**
   * The store could not commit what the route wrote (its claim, its result or failure record):
   * whatever the route did is not kept, so the transport must deliver the event again.
   */
  private notDurable(outcome: RouteOutcome, eventId: string, err: unknown): RouteOutcome {
    const error = retryableStoreFailure(err, outcome.routeId, eventId);
    this.logger.error('the store could not commit what this route wrote; reported as retryable so the transport keeps the event', {
      routeId: outcome.routeId,
      eventId,
      status: outcome.status,
      message: error.message,
    });
    const { result: _result, resultId: _resultId, destinations: _destinations, failureId: _failureId, ...kept } = outcome;
    return { ...kept, status: 'failed', error };
  }

  /** The route's run under its messaging span, in the input's trace. */
  private async tracedRoute(route: Route, envelope: Envelope, options: RouteRunOptions): Promise<RouteOutcome> {
    const span = (this.opts.telemetry ?? propagateOnly).route(route.id, envelope, inputTraceContext(envelope.event) ?? options.trace);
    try {
      const outcome = await this.runRoute(route, envelope, options, span);
      span.end(outcome);
      return outcome;
    } catch (err) {
      span.end({ status: 'failed', error: toMeshError(err, { routeId: route.id, eventId: envelope.event.id }) });
      throw err;
    }
  }

  private async runRoute(route: Route, envelope: Envelope, options: RouteRunOptions, span: RouteTrace): Promise<RouteOutcome> {
    const outer = options.signal;
    const started = this.clock.now().getTime();
    const eventId = envelope.event.id;
    const key = `${route.id}:${eventId}`;
    const elapsed = () => this.clock.now().getTime() - started;
    const { store } = this.opts;

    let claim: IdempotencyBegin;
    try {
      claim = await store.idempotency.begin(key, new Date(started + route.task.timeoutMs * 2));
    } catch (err) {
      // The claim store is down: nothing ran, nothing to record in it. Retry later.
      const error = retryableStoreFailure(err, route.id, eventId);
      this.logger.error('could not claim the route for this event; nothing ran', { routeId: route.id, eventId, code: error.code, message: error.message });
      return { routeId: route.id, status: 'failed', latencyMs: elapsed(), attempts: [], error };
    }
    if (claim.state === 'completed') {
      this.logger.info('duplicate delivery: result already emitted', { routeId: route.id, eventId, resultId: claim.resultId });
      return { routeId: route.id, status: 'duplicate', resultId: claim.resultId, latencyMs: elapsed(), attempts: [] };
    }
    if (claim.state === 'in-progress') {
      return { routeId: route.id, status: 'in-progress', latencyMs: elapsed(), attempts: [] };
    }
    const { token } = claim;

    let placement: PlacementDecision | undefined;
    let attempts: Attempt[] = [];
    // The route's budget, cleared when the route ends, and the host's signal forwarded by a
    // listener removed then too. AbortSignal.timeout cannot be cleared: its timer fired long
    // after the event was done and kept alive until then every listener an SDK had left on the
    // signal (the openai client leaves one per call); AbortSignal.any's composite stayed
    // reachable from the host's signal with those listeners (about one per event in mesh dev).
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), route.task.timeoutMs);
    timer.unref?.();
    const forward = () => budget.abort(outer?.reason);
    if (outer?.aborted) forward();
    else outer?.addEventListener('abort', forward, { once: true });
    const signal = budget.signal;
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
        ...(this.opts.audit ? { audit: { log: this.opts.audit, placement } } : {}),
        ...(this.usage ? { usage: this.usage } : {}),
        trace: span,
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
      // Fencing: prove the claim is still ours (and hold it for the publish) before any side
      // effect. A holder that outlived its lease learns it here and leaves the route to the new owner.
      await store.idempotency.renew(key, token, new Date(this.clock.now().getTime() + this.publishHoldMs));
      const held = route.approval === 'required' && this.approvals;
      // A held result keeps the route's trace context, so its release later stays in the input's trace.
      if (held) stampTraceContext(result, span.context);
      const destinations = held ? await held.hold(route, envelope, result, this.destinationsOf(route, envelope)) : await this.publish(route, envelope, result, span);
      await this.completeClaim(key, token, route.id, eventId, result.event.id);
      await this.resolveEarlierFailure(route.id, eventId);
      const outcome: RouteOutcome = {
        routeId: route.id,
        status: held ? 'pending-approval' : 'emitted',
        resultId: result.event.id,
        // A held result is not shown to whoever sent the input (the ingress answers with the outcome).
        ...(held ? {} : { result }),
        placement,
        endpoint: invoked.chosen.endpoint.id,
        destinations,
        latencyMs: elapsed(),
        attempts,
      };
      this.logger.info(held ? 'result held for approval' : 'result emitted', { routeId: route.id, eventId, resultId: result.event.id, endpoint: outcome.endpoint, latencyMs: outcome.latencyMs });
      return outcome;
    } catch (err) {
      if (err instanceof InvokeFailure) attempts = err.attempts;
      if (err instanceof ClaimLostError) {
        // Another delivery took the route over: it publishes the result (same id) and completes it.
        this.logger.warn('claim lost before publishing: another delivery finishes this route; nothing published here', { routeId: route.id, eventId });
        return { routeId: route.id, status: 'in-progress', ...(placement ? { placement } : {}), latencyMs: elapsed(), attempts };
      }
      const error = toMeshError(err instanceof InvokeFailure ? err.error : err, { routeId: route.id, eventId });
      if (!placement && error.context.placement) placement = error.context.placement as PlacementDecision;
      return this.fail(route, envelope, { key, token, error, attempts, placement, latencyMs: elapsed() });
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', forward);
    }
  }

  /** Release the claim and keep the failure with its event; a store failure on the way becomes a retryable outcome. */
  private async fail(
    route: Route,
    envelope: Envelope,
    f: { key: string; token: string; error: MeshError; attempts: Attempt[]; placement: PlacementDecision | undefined; latencyMs: number },
  ): Promise<RouteOutcome> {
    const eventId = envelope.event.id;
    const id = failureId(route.id, eventId);
    const { placement, attempts } = f;
    const base = { routeId: route.id, status: 'failed' as const, ...(placement ? { placement } : {}), latencyMs: f.latencyMs, attempts, failureId: id };
    try {
      await this.opts.store.idempotency.release(f.key, f.token);
    } catch (err) {
      if (err instanceof ClaimLostError) {
        this.logger.warn('route failed after its claim was taken over; the new owner finishes it', { routeId: route.id, eventId, code: f.error.code });
        return { ...base, status: 'in-progress' };
      }
      // The claim stays until its lease expires; a retry after that can take it over.
      this.logger.warn('could not release the claim; a retry can take it over once it expires', { routeId: route.id, eventId, message: errorText(err) });
    }
    try {
      await this.opts.store.failures.recordFailure({
        id,
        at: this.clock.now().toISOString(),
        eventId,
        routeId: route.id,
        errorCode: f.error.code,
        message: f.error.message,
        retryable: f.error.retryable,
        attempts,
        ...(placement ? { placement } : {}),
        envelope,
        status: 'open',
        failures: 1,
      });
    } catch (err) {
      // Not kept: the event must be retried by its transport rather than settled as failed.
      const error = retryableStoreFailure(err, route.id, eventId, f.error);
      this.logger.error('route failed and its failure could not be recorded; reported as retryable so the transport keeps the event', {
        routeId: route.id,
        eventId,
        code: f.error.code,
        message: f.error.message,
        storeError: errorText(err),
      });
      return { ...base, error };
    }
    this.logger.error('route failed; failure recorded with its event', { routeId: route.id, eventId, failureId: id, code: f.error.code, message: f.error.message });
    return { ...base, error: f.error };
  }

  /**
   * Complete the claim after publishing. Losing it now means the result (deterministic id)
   * is out and the new owner will publish the same id again: counted as a repeat, not an error.
   */
  private async completeClaim(key: string, token: string, routeId: string, eventId: string, resultId: string): Promise<void> {
    try {
      await this.opts.store.idempotency.complete(key, token, resultId);
    } catch (err) {
      if (!(err instanceof ClaimLostError)) throw err;
      this.logger.warn('result published, but the claim was taken over meanwhile: the new owner may publish the same result id again', { routeId, eventId, resultId });
    }
  }

  private destinationsOf(route: Route, input: Envelope): Destination[] {
    return route.emit.to.length > 0 ? route.emit.to.map((name) => this.opts.config.destinations[name]!) : [originDestination(input)];
  }

  private async publish(route: Route, input: Envelope, result: Envelope, span: RouteTrace): Promise<string[]> {
    const destinations = this.destinationsOf(route, input);
    // The result is sent under its own span, in its input's trace: the context it carries is that span's.
    const send = span.send(destinations, result);
    stampTraceContext(result, send.context);
    try {
      await this.publishTo(route, input, result, destinations);
      send.end();
    } catch (err) {
      send.end(toMeshError(err));
      throw err;
    }
    return destinations.map((d) => d.name);
  }

  private async publishTo(route: Route, input: Envelope, result: Envelope, destinations: Destination[]): Promise<void> {
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
  }

  private async resolveEarlierFailure(routeId: string, eventId: string): Promise<void> {
    const id = failureId(routeId, eventId);
    try {
      // One write, no read first: resolving an unknown or resolved failure changes nothing.
      await this.opts.store.failures.resolveFailure(id);
    } catch (err) {
      // The result is out and the claim completed; an open record left behind is resolved by the next replay ("already done").
      this.logger.warn('result emitted, but its earlier failure record could not be marked resolved', { routeId, eventId, failureId: id, message: errorText(err) });
    }
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

/**
 * A store failure around a route (claiming, recording its failure) as a retryable error: the
 * transport must keep the event. `original` is the route's own failure, kept in the message.
 */
function retryableStoreFailure(err: unknown, routeId: string, eventId: string, original?: MeshError): MeshError {
  const mesh = err instanceof MeshError ? err : undefined;
  if (mesh?.retryable && !original) return mesh;
  const what = original ? `${original.code} (${original.message}), and recording it failed: ` : '';
  return new StoreUnavailableError(`${what}${errorText(err)}`, { context: { routeId, eventId, ...(mesh ? { storeCode: mesh.code } : {}) } });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
