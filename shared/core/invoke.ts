import { usageCostMicroUsd } from './catalogue.ts';
import type { Clock } from './clock.ts';
import { ModelOutputInvalidError, ModelTimeoutError, ModelsExhaustedError, RateLimitedError, toMeshError, type MeshError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { AuditEntry, AuditLog } from './ports/AuditLog.ts';
import type { ModelProvider, ModelRequest, ModelResponse, ModelUsage } from './ports/ModelProvider.ts';
import type { EndpointHealth, PlacementDecision, RankedEndpoint } from './ports/Placer.ts';
import type { Attempt } from './ports/Store.ts';
import type { RouteTrace } from './ports/Telemetry.ts';
import type { Route } from './route.ts';
import { estimateUsage, type UsageGate } from './usageGate.ts';

/** Providers by kind (`simulated`, `bedrock`, …). */
export interface ProviderLookup {
  get(kind: string): ModelProvider;
}

export interface InvokeSuccess {
  response: ModelResponse;
  chosen: RankedEndpoint;
  attempts: Attempt[];
}

/** Thrown when no endpoint produced a valid answer; carries every attempt for the ledger. */
export class InvokeFailure extends Error {
  constructor(
    readonly error: MeshError,
    readonly attempts: Attempt[],
  ) {
    super(error.message, { cause: error });
  }
}

export interface InvokeOptions {
  route: Route;
  eventId: string;
  ranked: RankedEndpoint[];
  system?: string;
  prompt: string;
  providers: ProviderLookup;
  clock: Clock;
  logger: Logger;
  /** Aborts when the invocation's budget is spent (route timeout, or Lambda's remaining time). */
  signal: AbortSignal;
  /** Random in [0,1) for jitter; injected so tests are deterministic. */
  random?: () => number;
  /** Told the outcome of every call; an endpoint whose circuit opens meanwhile is not called again. */
  health?: EndpointHealth;
  /** Given one entry per attempt, with the residency facts of `placement`. */
  audit?: { log: AuditLog; placement: PlacementDecision };
  /** Route budget and endpoint rate limits, reserved before each call and settled after. Default: none. */
  usage?: UsageGate;
  /** The route's trace: one GenAI span (and metrics) per model call. */
  trace?: RouteTrace;
}

const BASE_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

/**
 * Call the route's model, best endpoint first. Retryable errors (throttle, timeout, 5xx,
 * invalid output) are retried on the same endpoint up to `attemptsPerEndpoint`, waiting for
 * the server's Retry-After when it gave one, else capped exponential backoff with full
 * jitter. Non-retryable errors (request rejected, auth) fail over at once. Everything stops
 * when the budget signal aborts: the attempts so far go to the failure ledger. Only the
 * endpoints in `ranked` are ever called, so failover never reaches one the policy forbids.
 */
export async function invokeWithFailover(opts: InvokeOptions): Promise<InvokeSuccess> {
  const { route, clock, logger, signal, health } = opts;
  const random = opts.random ?? Math.random;
  const attempts: Attempt[] = [];
  let lastError: MeshError | undefined;
  const circuitOpen: string[] = [];
  const rateLimited: Array<{ endpoint: string; reason: string; resetsAt: string }> = [];
  const estimate = opts.usage ? estimateUsage(route, opts.system, opts.prompt) : undefined;

  for (const candidate of opts.ranked) {
    const endpoint = candidate.endpoint;
    for (let attempt = 1; attempt <= route.task.attemptsPerEndpoint; attempt++) {
      if (signal.aborted) break;
      // Another call may have opened the circuit since placement, or our own failures just did.
      const openUntil = health?.openUntil(endpoint.id);
      if (openUntil) {
        logger.warn('endpoint skipped: circuit open', { routeId: route.id, eventId: opts.eventId, endpoint: endpoint.id, until: openUntil.toISOString() });
        if (attempt === 1) circuitOpen.push(`${endpoint.id} until ${openUntil.toISOString()}`);
        break;
      }
      const startedAt = clock.now();
      // Before the call: a route over its budget makes none; an endpoint at its rate limit is skipped.
      const gate = opts.usage && estimate
        ? await opts.usage.before(route, endpoint, opts.eventId, estimate).catch((err: unknown) => {
            throw new InvokeFailure(toMeshError(err, { routeId: route.id, eventId: opts.eventId }), attempts);
          })
        : undefined;
      if (gate?.kind === 'over-budget') throw new InvokeFailure(gate.error, attempts);
      if (gate?.kind === 'rate-limited') {
        logger.warn('endpoint skipped: rate limit', { routeId: route.id, eventId: opts.eventId, endpoint: endpoint.id, reason: gate.reason });
        rateLimited.push({ endpoint: endpoint.id, reason: gate.reason, resetsAt: gate.resetsAt });
        attempts.push(attemptRecord(candidate, attempt, startedAt, clock, 0, new RateLimitedError(gate.reason)));
        break;
      }
      const request: ModelRequest = {
        endpoint,
        ...(opts.system === undefined ? {} : { system: opts.system }),
        prompt: opts.prompt,
        outputSchema: route.task.output,
        validate: (output) => route.task.validateOutput(output),
        maxTokens: route.task.maxTokens,
        ...(route.task.temperature === undefined ? {} : { temperature: route.task.temperature }),
        routeId: route.id,
        eventId: opts.eventId,
        attempt,
      };
      const context = { routeId: route.id, eventId: opts.eventId, endpoint: endpoint.id };
      // Kept outside the try: an answer that fails its schema still spent tokens, and the audit says so.
      let usage: ModelUsage | undefined;
      const call = opts.trace?.modelCall(endpoint, request);
      try {
        // Inside the try: an endpoint whose provider is unavailable fails over like any other.
        const response = await opts.providers.get(endpoint.provider).invoke(request, signal);
        usage = response.usage;
        const problems = route.task.validateOutput(response.output);
        if (problems.length > 0) {
          throw new ModelOutputInvalidError(`output of ${endpoint.id} does not match the route's output schema: ${problems.join('; ')}`, {
            problems,
            context,
          });
        }
        call?.end({ usage });
        const record = attemptRecord(candidate, attempt, startedAt, clock, response.latencyMs);
        attempts.push(record);
        await audit(opts, candidate, record, usage);
        health?.succeeded(endpoint.id);
        return { response, chosen: candidate, attempts };
      } catch (err) {
        const error = signal.aborted && !(err instanceof ModelOutputInvalidError)
          ? new ModelTimeoutError(`route ${route.id} ran out of time while calling ${endpoint.id} (its budget is ${route.task.timeoutMs} ms, less if the host's invocation ends sooner)`, { cause: err, context })
          : toMeshError(err, context);
        lastError = error;
        call?.end({ ...(usage ? { usage } : {}), error });
        health?.failed(endpoint.id, error);
        const record = attemptRecord(candidate, attempt, startedAt, clock, undefined, error);
        attempts.push(record);
        await audit(opts, candidate, record, usage);
        // Settled before any backoff, so a retry does not find this call's estimate still held.
        if (gate?.kind === 'go') await gate.settle(usage);
        logger.warn('model call failed', { ...context, attempt, code: error.code, retryable: error.retryable, message: error.message });
        // No point waiting to retry an endpoint whose circuit this failure has just opened.
        if (!error.retryable || signal.aborted || health?.openUntil(endpoint.id)) break;
        if (attempt < route.task.attemptsPerEndpoint) {
          const hinted = 'retryAfterMs' in error && typeof error.retryAfterMs === 'number' ? error.retryAfterMs : undefined;
          const backoff = hinted ?? Math.floor(random() * Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempt - 1)));
          try {
            await clock.sleep(Math.min(backoff, MAX_BACKOFF_MS), signal);
          } catch {
            break;
          }
        }
      } finally {
        // What the call really used replaces its estimate; no answer, no tokens. (Settling twice is a no-op.)
        if (gate?.kind === 'go') await gate.settle(usage);
      }
    }
    if (signal.aborted) break;
  }

  const tried = [...new Set(attempts.map((a) => a.endpoint))];
  const untried =
    circuitOpen.length > 0
      ? `route ${route.id}: no endpoint could be tried: circuit open (${circuitOpen.join('; ')})`
      : `route ${route.id}: no endpoint could be tried within the budget`;
  const error = lastError ?? (rateLimited.length > 0 ? allRateLimited(route.id, opts.eventId, rateLimited, circuitOpen, clock.now().getTime()) : new ModelsExhaustedError(untried, { context: { routeId: route.id, eventId: opts.eventId } }));
  if (lastError !== undefined && rateLimited.length > 0) error.context.rateLimited = rateLimited;
  if (tried.length > 1 && lastError !== undefined) {
    error.context.triedEndpoints = tried;
  }
  throw new InvokeFailure(error, attempts);
}

/** No endpoint was called because each allowed one is at its rate limit (or its circuit is open): retry when the first window resets. */
function allRateLimited(routeId: string, eventId: string, limited: Array<{ endpoint: string; reason: string; resetsAt: string }>, circuitOpen: string[], nowMs: number): RateLimitedError {
  const each = limited.map((l) => `${l.endpoint}: ${l.reason}`);
  const open = circuitOpen.length > 0 ? `; circuit open: ${circuitOpen.join('; ')}` : '';
  const firstReset = limited.map((l) => l.resetsAt).sort()[0]!;
  return new RateLimitedError(`route ${routeId}: every allowed endpoint is at its rate limit, so none was called (${each.join('; ')}${open})`, {
    context: { routeId, eventId, rateLimited: limited, resetsAt: firstReset, retryAfterMs: Math.max(0, Date.parse(firstReset) - nowMs) },
  });
}

function attemptRecord(candidate: RankedEndpoint, attempt: number, startedAt: Date, clock: Clock, latencyMs?: number, error?: MeshError): Attempt {
  return {
    endpoint: candidate.endpoint.id,
    ...(candidate.endpoint.region === undefined ? {} : { region: candidate.endpoint.region }),
    attempt,
    startedAt: startedAt.toISOString(),
    latencyMs: latencyMs ?? clock.now().getTime() - startedAt.getTime(),
    ...(error === undefined ? {} : { error: { code: error.code, message: error.message, retryable: error.retryable } }),
  };
}

/**
 * Give the audit log this attempt. Never fails the call: the model has answered (or not)
 * already, and failing now would only call it again. A record that cannot be kept is logged
 * in full instead (it holds no content), at error level, so it is not lost without a trace.
 */
async function audit(opts: InvokeOptions, candidate: RankedEndpoint, attempt: Attempt, usage: ModelUsage | undefined): Promise<void> {
  if (!opts.audit) return;
  const entry = auditEntry(opts.route.id, opts.eventId, opts.audit.placement, candidate, attempt, usage);
  try {
    await opts.audit.log.record(entry);
  } catch (err) {
    opts.logger.error('audit record could not be kept', { ...entry, auditError: err instanceof Error ? err.message : String(err) });
  }
}

function auditEntry(routeId: string, eventId: string, placement: PlacementDecision, candidate: RankedEndpoint, attempt: Attempt, usage: ModelUsage | undefined): AuditEntry {
  const { endpoint } = candidate;
  const { location } = placement;
  const costUsd = usage === undefined ? null : Number((usageCostMicroUsd(endpoint, usage) / 1_000_000).toFixed(8));
  return {
    at: attempt.startedAt,
    routeId,
    eventId,
    endpoint: endpoint.id,
    provider: endpoint.provider,
    model: endpoint.model,
    cloud: endpoint.cloud,
    region: endpoint.region ?? null,
    attempt: attempt.attempt,
    dataLocation: location.cloud === 'unknown' ? 'unknown' : `${location.cloud}:${location.region ?? '?'}`,
    dataLocationSource: location.from,
    classification: placement.classification,
    tokens: usage === undefined ? null : { input: usage.inputTokens, output: usage.outputTokens },
    costUsd,
    outcome: attempt.error ? 'error' : 'ok',
    errorCode: attempt.error?.code ?? null,
    latencyMs: Math.round(attempt.latencyMs),
  };
}
