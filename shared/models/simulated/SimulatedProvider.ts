/*
 * A model endpoint with no cloud and no weights: for development, demos, load and chaos
 * runs. Answers fit the route's output schema; latency and faults follow the endpoint's
 * `simulated` settings in mesh.yaml. Every draw is seeded by seed + endpoint + route +
 * event (+ attempt), so a run can be replayed exactly and two processes agree.
 *
 * Draws come from separate streams per purpose: the fault and latency of each attempt are
 * drawn afresh (a throttled first attempt may succeed on retry), while the answer itself
 * depends only on the event, so every successful attempt gives the same answer, as a
 * temperature-0 model would.
 */
import type { SimulatedSettings } from '../../core/catalogue.ts';
import { systemClock, type Clock } from '../../core/clock.ts';
import { ModelThrottledError, ModelTimeoutError, ModelUnavailableError, type ErrorContext } from '../../core/errors.ts';
import type { ModelProvider, ModelRequest, ModelResponse } from '../../core/ports/ModelProvider.ts';
import { generateFromSchema } from './generate.ts';
import { malformedFromSchema } from './malform.ts';
import { callRng, type CallKey } from './rng.ts';

/** What a simulated endpoint does when mesh.yaml gives it no `simulated` block. */
export const DEFAULT_SIMULATED_SETTINGS: SimulatedSettings = {
  latencyMs: { min: 20, max: 60 },
  faults: { throttle: 0, error: 0, timeout: 0, malformed: 0 },
  retryAfterMs: 200,
};

export type SimulatedFault = 'throttle' | 'error' | 'timeout' | 'malformed';

export interface SimulatedProviderOptions {
  /** Same seed, same answers, latencies and faults. */
  seed: number | string;
  /** Sleeps the drawn latency; inject a fake in tests. Defaults to the system clock. */
  clock?: Clock;
}

/**
 * The `simulated` ModelProvider.
 *
 * @example
 * const provider = new SimulatedProvider({ seed: 42 });
 * const { output, usage, latencyMs } = await provider.invoke(request, AbortSignal.timeout(5_000));
 */
export class SimulatedProvider implements ModelProvider {
  readonly kind = 'simulated';
  private readonly seed: number | string;
  private readonly clock: Clock;

  constructor(options: SimulatedProviderOptions) {
    this.seed = options.seed;
    this.clock = options.clock ?? systemClock;
  }

  async invoke(request: ModelRequest, signal: AbortSignal): Promise<ModelResponse> {
    const { endpoint } = request;
    const context: ErrorContext = { endpoint: endpoint.id, routeId: request.routeId, eventId: request.eventId };
    if (signal.aborted) throw timedOut(endpoint.id, context, signal.reason);

    const settings = settingsOf(request);
    const key: CallKey = { seed: this.seed, endpointId: endpoint.id, routeId: request.routeId, eventId: request.eventId, attempt: request.attempt };
    const faultRng = callRng(key, 'fault');
    const fault = drawFault(settings, faultRng.next());

    // Throttles and 503s answer at once, as real front doors do; no latency is spent.
    if (fault === 'throttle') {
      throw new ModelThrottledError(`simulated throttle on ${endpoint.id}: retry after ${settings.retryAfterMs} ms`, {
        retryAfterMs: settings.retryAfterMs,
        context,
      });
    }
    if (fault === 'error') throw new ModelUnavailableError(`simulated 503 from ${endpoint.id}`, { context });
    if (fault === 'timeout') {
      await untilAborted(signal);
      throw timedOut(endpoint.id, context, signal.reason);
    }

    // The drawn latency is what we report, not the time measured around the sleep: timer
    // slack would make provenance differ between two runs of the same seed.
    const latencyMs = callRng(key, 'latency').int(settings.latencyMs.min, settings.latencyMs.max);
    try {
      // A zero latency (load tests) must not pay a timer tick: setTimeout(0) costs ~1 ms.
      if (latencyMs > 0) await this.clock.sleep(latencyMs, signal);
    } catch (err) {
      throw timedOut(endpoint.id, context, err);
    }

    const hints = { prompt: request.prompt };
    const outputRng = callRng({ ...key, attempt: undefined }, 'output');
    const output =
      fault === 'malformed'
        ? malformedFromSchema(request.outputSchema, outputRng, faultRng.chance(0.5) ? 'missing-required' : 'wrong-type', hints)
        : generateFromSchema(request.outputSchema, outputRng, hints);
    return { output, usage: usageOf(request, output), latencyMs };
  }
}

/** The endpoint's settings, with defaults filled for whatever mesh.yaml left out. */
function settingsOf(request: ModelRequest): SimulatedSettings {
  const given = request.endpoint.simulated;
  if (given === undefined) return DEFAULT_SIMULATED_SETTINGS;
  return {
    latencyMs: given.latencyMs ?? DEFAULT_SIMULATED_SETTINGS.latencyMs,
    faults: { ...DEFAULT_SIMULATED_SETTINGS.faults, ...given.faults },
    retryAfterMs: given.retryAfterMs ?? DEFAULT_SIMULATED_SETTINGS.retryAfterMs,
  };
}

/**
 * One uniform draw split into consecutive bands (throttle, error, timeout, malformed), so
 * each fault happens with its own probability and at most one happens per call.
 */
export function drawFault(settings: SimulatedSettings, u: number): SimulatedFault | undefined {
  let edge = 0;
  for (const fault of ['throttle', 'error', 'timeout', 'malformed'] as const) {
    edge += settings.faults[fault] ?? 0;
    if (u < edge) return fault;
  }
  return undefined;
}

/** Roughly four characters a token, the usual rule of thumb for English and JSON. */
function usageOf(request: ModelRequest, output: unknown): ModelResponse['usage'] {
  const inputChars = (request.system?.length ?? 0) + request.prompt.length;
  const outputChars = JSON.stringify(output ?? null).length;
  return {
    inputTokens: Math.ceil(inputChars / 4),
    outputTokens: Math.min(request.maxTokens, Math.ceil(outputChars / 4)),
  };
}

/** Never settles on its own: a simulated hang lasts until the caller gives up. */
function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function timedOut(endpointId: string, context: ErrorContext, cause: unknown): ModelTimeoutError {
  return new ModelTimeoutError(`simulated call to ${endpointId} was aborted before it answered`, { cause, context });
}
