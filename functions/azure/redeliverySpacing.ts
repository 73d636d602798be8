import type { MeshError, PlacementDecision } from '../../shared/core/index.ts';

/**
 * How long to hold a message before abandoning it, so that its next delivery does not come
 * at once (Service Bus redelivers an abandoned message immediately: a throttling spell would
 * burn every delivery in seconds).
 */
export interface SpacingOptions {
  /** First backoff step when the error gives no hint; doubles with each delivery. Default 2 s. */
  baseMs?: number;
  /** The longest hold: nothing waits longer than this, hint or not. */
  maxMs: number;
  /** Random in [0, 1) for jitter; injected so tests are deterministic. */
  random?: () => number;
  now?: () => number;
}

/** How long to wait and why, for the log line. */
export interface Spacing {
  ms: number;
  why: 'retry-after' | 'circuit-cooldown' | 'backoff';
}

/**
 * The wait before a message's next delivery:
 * - the longest server hint among the failures (`retryAfterMs` on a ModelThrottledError or in
 *   a MeshError's context, anywhere along its `cause` chain), or the earliest time an open
 *   circuit of the route's placement closes; waiting less would only fail again. Up to 10 %
 *   jitter is added on top, never taken off, so the hint is a lower bound;
 * - otherwise capped exponential backoff by delivery count with equal jitter (half fixed, half
 *   random): 2 s, 4 s, 8 s … with the default base, never less than half the step.
 * Both are capped at `maxMs`.
 *
 * @example
 * spacingFor([new ModelThrottledError('busy', { retryAfterMs: 2_000 })], [], 1, { maxMs: 60_000 })
 * // { ms: 2_000…2_200, why: 'retry-after' }
 */
export function spacingFor(errors: MeshError[], placements: (PlacementDecision | undefined)[], deliveryCount: number, options: SpacingOptions): Spacing {
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const cap = (ms: number) => Math.max(0, Math.min(options.maxMs, Math.round(ms)));

  const hinted = Math.max(-1, ...errors.map(retryAfterOf).filter((ms): ms is number => ms !== undefined));
  if (hinted >= 0) return { ms: cap(hinted * (1 + 0.1 * random())), why: 'retry-after' };

  const skipped = [...placements.flatMap((p) => p?.skipped ?? []), ...skippedInContext(errors)];
  const closes = skipped.map((s) => Date.parse(s.until));
  const firstClose = Math.min(...closes.filter((t) => Number.isFinite(t)));
  if (Number.isFinite(firstClose) && firstClose > now()) return { ms: cap((firstClose - now()) * (1 + 0.1 * random())), why: 'circuit-cooldown' };

  const step = (options.baseMs ?? 2_000) * 2 ** Math.max(0, Math.min(deliveryCount - 1, 20));
  const capped = Math.min(options.maxMs, step);
  return { ms: cap(capped / 2 + (capped / 2) * random()), why: 'backoff' };
}

/** `retryAfterMs` on the error, in its context, or on an error it wraps. */
function retryAfterOf(error: unknown): number | undefined {
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const own = (e as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof own === 'number' && Number.isFinite(own)) return own;
    const inContext = (e as { context?: { retryAfterMs?: unknown } }).context?.retryAfterMs;
    if (typeof inContext === 'number' && Number.isFinite(inContext)) return inContext;
  }
  return undefined;
}

/** Open circuits named by an all-circuits-open failure (its context carries the placement). */
function skippedInContext(errors: MeshError[]): { until: string }[] {
  return errors.flatMap((e) => (e.context.placement as PlacementDecision | undefined)?.skipped ?? []);
}
