import type { ReplayOutcome } from '../core/index.ts';

/** One wait for an open circuit, as the progress line shows it. */
export interface CircuitWaitNotice {
  endpoints: string[];
  until: Date;
  waitMs: number;
  /** Waiting time left in the budget after this wait. */
  budgetLeftMs: number;
}

export interface CircuitWaitOptions {
  /**
   * How long a run may wait on open circuits without a replay succeeding in between (the
   * budget starts again after each success). 0: never wait, stop at the first open circuit.
   */
  maxWaitMs: number;
  now?: () => number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onWait?: (notice: CircuitWaitNotice) => void;
  /** An interrupt (Ctrl-C) ends a wait at once; the blocked event is then reported as not tried. */
  signal?: AbortSignal;
}

/** What one replay came to: its outcome, and why the run must stop when it must. */
export interface GatedOutcome {
  outcome: ReplayOutcome;
  /** Set when the run must stop here: an endpoint is still down past the waiting budget. */
  stop?: string;
}

/** Past the circuit's half-open instant, so the next placement finds it callable. */
const MARGIN_MS = 50;

/**
 * Keeps a replay run from starving itself: when a replay is refused because every endpoint
 * its route may use has an open circuit (the first replays of a storm reopened them), the run
 * waits for the cool-down and tries that event again, within a bounded budget; past it, the run
 * stops and says which endpoint is down, leaving the rest untouched rather than marking
 * thousands of events failed again without a model call.
 *
 * @example
 * const gate = new CircuitWait({ maxWaitMs: 60_000, onWait: (n) => progress.waiting(n) });
 * for (const id of ids) {
 *   const { outcome, stop } = await gate.run(() => access.replay({ failureId: id, actor }));
 *   if (stop) break; // the rest are not tried
 * }
 */
export class CircuitWait {
  private waitedMs = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: CircuitWaitOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleepFor;
  }

  /** Run one replay, waiting out open circuits within the budget. */
  async run(attempt: () => Promise<ReplayOutcome>): Promise<GatedOutcome> {
    for (;;) {
      const outcome = await attempt();
      if (!outcome.blocked) {
        if (outcome.outcome === 'succeeded' || outcome.outcome === 'already-done') this.waitedMs = 0;
        return { outcome };
      }
      const until = new Date(outcome.blocked.until);
      const waitMs = Math.max(0, until.getTime() - this.now()) + MARGIN_MS;
      const down = outcome.blocked.endpoints.join(', ');
      if (this.waitedMs + waitMs > this.options.maxWaitMs) {
        const waited = this.waitedMs > 0 ? ` after waiting ${Math.round(this.waitedMs / 1000)} s` : '';
        return {
          outcome,
          stop: `endpoint ${down} is down: circuit open until ${until.toISOString()}${waited}, past --max-wait ${Math.round(this.options.maxWaitMs / 1000)} s`,
        };
      }
      this.waitedMs += waitMs;
      this.options.onWait?.({ endpoints: outcome.blocked.endpoints, until, waitMs, budgetLeftMs: this.options.maxWaitMs - this.waitedMs });
      await this.sleep(waitMs, this.options.signal);
      if (this.options.signal?.aborted) return { outcome, stop: 'interrupted' };
    }
  }
}

function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
