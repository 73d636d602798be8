import type { CircuitSettings } from '../core/catalogue.ts';
import type { Clock } from '../core/clock.ts';
import type { EndpointHealth } from '../core/ports/Placer.ts';

/*
 * One circuit per endpoint, in process memory:
 *   closed     calls go; each retryable failure is remembered, a success forgets them all
 *   open       `failures` consecutive retryable failures within `windowMs`: no calls until `cooldownMs` has passed
 *   half-open  after the cooldown calls go again; the first failure reopens at once, a success closes
 * Only retryable failures count: a rejected request or a refused identity says nothing about
 * whether the endpoint is up, and retrying elsewhere would not help it either. Half-open lets
 * every concurrent call through rather than exactly one probe: a single probe would need
 * coordination the serverless hosts do not give us, and the first failure reopens it anyway.
 */

export const DEFAULT_CIRCUIT: CircuitSettings = { failures: 5, windowMs: 60_000, cooldownMs: 30_000 };

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreaker extends EndpointHealth {
  state(endpointId: string): CircuitState;
}

interface Circuit {
  /** Times (ms) of the current run of consecutive retryable failures. */
  failures: number[];
  /** Set once the circuit has opened: when it half-opens. */
  openUntil?: number;
}

/**
 * Endpoint circuits driven by the invoke step's outcomes, timed by the injected clock.
 *
 * @example
 * const health = createCircuitBreaker({ clock, failures: 3, windowMs: 60_000, cooldownMs: 30_000 });
 * const placer = createPlacer(config, { health });
 * new Pipeline({ …, placer, health });
 * health.openUntil('sim-bedrock-us-east-1') // → Date while open, undefined otherwise
 */
export function createCircuitBreaker(options: { clock: Clock } & Partial<CircuitSettings>): CircuitBreaker {
  const { clock } = options;
  const settings: CircuitSettings = {
    failures: options.failures ?? DEFAULT_CIRCUIT.failures,
    windowMs: options.windowMs ?? DEFAULT_CIRCUIT.windowMs,
    cooldownMs: options.cooldownMs ?? DEFAULT_CIRCUIT.cooldownMs,
  };
  const circuits = new Map<string, Circuit>();
  const now = () => clock.now().getTime();

  function state(endpointId: string): CircuitState {
    const circuit = circuits.get(endpointId);
    if (circuit?.openUntil === undefined) return 'closed';
    return now() < circuit.openUntil ? 'open' : 'half-open';
  }

  function open(circuit: Circuit, at: number): void {
    circuit.failures = [];
    circuit.openUntil = at + settings.cooldownMs;
  }

  return {
    state,
    openUntil(endpointId) {
      const circuit = circuits.get(endpointId);
      return state(endpointId) === 'open' ? new Date(circuit!.openUntil!) : undefined;
    },
    succeeded(endpointId) {
      circuits.delete(endpointId);
    },
    failed(endpointId, error) {
      if (!error.retryable) return;
      const at = now();
      const circuit = circuits.get(endpointId) ?? { failures: [] };
      circuits.set(endpointId, circuit);
      const current = state(endpointId);
      if (current === 'half-open') return open(circuit, at);
      // A call that was already under way when the circuit opened adds nothing.
      if (current === 'open') return;
      circuit.failures = [...circuit.failures.filter((t) => at - t < settings.windowMs), at];
      if (circuit.failures.length >= settings.failures) open(circuit, at);
    },
  };
}
