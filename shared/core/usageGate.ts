import { usageCostMicroUsd, type MeshConfig, type ModelEndpoint } from './catalogue.ts';
import type { Clock } from './clock.ts';
import { BudgetExceededError, ConfigError, MeshError, StoreUnavailableError, type ConfigIssue } from './errors.ts';
import type { Logger } from './logger.ts';
import { counterWindow, windowResetsAt, type CounterPeriod, type CounterWindow, type UsageCounters } from './ports/Counters.ts';
import type { ModelUsage } from './ports/ModelProvider.ts';
import type { Route } from './route.ts';

/*
 * Route budgets (`task.budget`) and endpoint rate limits (`models[].limits`), checked before
 * each model call against counters every instance of the edge shares. A call reserves its
 * estimate first (prompt length / 4 + maxTokens; cost at the endpoint's price) and settles with
 * the real usage after, so concurrent calls cannot together overrun a window.
 *
 * Costs are counted in micro-USD (tokens × USD per million tokens): whole numbers, so sums of
 * small prices never drift past a limit by rounding.
 */

/** Counter keys: one per route budget dimension, one per endpoint limit. */
export const usageKeys = {
  budgetTokens: (routeId: string) => `budget:${routeId}:tokens`,
  budgetMicroUsd: (routeId: string) => `budget:${routeId}:microUsd`,
  rpm: (endpointId: string) => `limit:${endpointId}:rpm`,
  tpm: (endpointId: string) => `limit:${endpointId}:tpm`,
};

/** Tokens a call may use at most, before it is made: its prompt (about 4 characters a token) plus the answer's cap. */
export function estimateUsage(route: Route, system: string | undefined, prompt: string): ModelUsage {
  return { inputTokens: Math.ceil(((system?.length ?? 0) + prompt.length) / 4), outputTokens: route.task.maxTokens };
}

/** What `usage` costs on `endpoint`, in micro-USD (rounded up). */
export function costMicroUsd(endpoint: ModelEndpoint, usage: ModelUsage): number {
  return Math.ceil(usageCostMicroUsd(endpoint, usage));
}

/** What the gate decided for one call attempt. */
export type GateDecision =
  /** Go ahead; `settle` with the call's real usage (none when no answer came) once it is over. */
  | { kind: 'go'; settle(usage: ModelUsage | undefined): Promise<void> }
  /** The endpoint is at its rpm or tpm for this minute: skip it. Nothing stays reserved. */
  | { kind: 'rate-limited'; reason: string; resetsAt: string }
  /** The route's budget has no room: make no call at all. Nothing stays reserved. */
  | { kind: 'over-budget'; error: BudgetExceededError };

interface Check {
  key: string;
  window: CounterWindow;
  period: CounterPeriod;
  amount: number;
  limit: number;
  what: 'tokens' | 'costUsd' | 'rpm' | 'tpm';
  /** What the real usage turns this reservation into (rpm: the request was made, whatever happened). */
  actual(usage: ModelUsage | undefined): number;
}

export interface UsageGateOptions {
  counters: UsageCounters;
  clock: Clock;
  logger: Logger;
}

/**
 * Reserves a route's budget and an endpoint's limits for one call, atomically, and settles
 * them with the call's real usage.
 *
 * @example
 * const gate = new UsageGate({ counters: store.counters, clock, logger });
 * const d = await gate.before(route, endpoint, 'evt-1', estimateUsage(route, system, prompt));
 * if (d.kind === 'go') { const r = await call(); await d.settle(r.usage); }
 */
export class UsageGate {
  constructor(private readonly opts: UsageGateOptions) {}

  async before(route: Route, endpoint: ModelEndpoint, eventId: string, estimate: ModelUsage): Promise<GateDecision> {
    const nowMs = this.opts.clock.now().getTime();
    const checks = checksFor(route, endpoint, estimate, nowMs);
    const taken: Check[] = [];
    for (const check of checks) {
      const { ok, used } = await this.counted(() => this.opts.counters.reserve(check.key, check.window, check.amount, check.limit), route, eventId);
      if (ok) {
        taken.push(check);
        continue;
      }
      // Refused: give back what this call had already reserved (a budget, when its endpoint is full).
      await this.giveBack(taken, () => 0, route, eventId);
      const resetsAt = windowResetsAt(check.period, nowMs);
      if (check.what === 'rpm' || check.what === 'tpm') return { kind: 'rate-limited', reason: limitReason(check, used, resetsAt), resetsAt };
      return { kind: 'over-budget', error: budgetError(route, eventId, check, used, resetsAt, nowMs) };
    }
    let settled = false;
    const settle = async (usage: ModelUsage | undefined) => {
      if (settled) return;
      settled = true;
      await this.giveBack(taken, (c) => c.actual(usage), route, eventId);
    };
    return { kind: 'go', settle };
  }

  /** Turn each reservation into what was really used; never fails the call (it has happened). */
  private async giveBack(taken: Check[], actual: (c: Check) => number, route: Route, eventId: string): Promise<void> {
    for (const check of taken) {
      const delta = actual(check) - check.amount;
      if (delta === 0) continue;
      try {
        await this.opts.counters.adjust(check.key, check.window, delta);
      } catch (err) {
        this.opts.logger.warn('usage counter could not be settled; the window counts the estimate instead', {
          routeId: route.id,
          eventId,
          counter: check.key,
          delta,
          message: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  /** A counter store that cannot be reached is a retryable store failure: the event is kept and retried. */
  private async counted<T>(op: () => Promise<T>, route: Route, eventId: string): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof MeshError) throw err;
      throw new StoreUnavailableError(`usage counters unavailable: ${err instanceof Error ? err.message : String(err)}`, { cause: err, context: { routeId: route.id, eventId } });
    }
  }
}

function checksFor(route: Route, endpoint: ModelEndpoint, estimate: ModelUsage, nowMs: number): Check[] {
  const checks: Check[] = [];
  const tokens = estimate.inputTokens + estimate.outputTokens;
  const realTokens = (u: ModelUsage | undefined) => (u ? u.inputTokens + u.outputTokens : 0);
  const budget = route.task.budget;
  if (budget) {
    const window = counterWindow(budget.per, nowMs);
    if (budget.tokens !== undefined) {
      checks.push({ key: usageKeys.budgetTokens(route.id), window, period: budget.per, amount: tokens, limit: budget.tokens, what: 'tokens', actual: realTokens });
    }
    if (budget.costUsd !== undefined) {
      checks.push({
        key: usageKeys.budgetMicroUsd(route.id),
        window,
        period: budget.per,
        amount: costMicroUsd(endpoint, estimate),
        limit: Math.round(budget.costUsd * 1_000_000),
        what: 'costUsd',
        actual: (u) => (u ? costMicroUsd(endpoint, u) : 0),
      });
    }
  }
  const minute = counterWindow('minute', nowMs);
  const { rpm, tpm } = endpoint.limits ?? {};
  if (rpm !== undefined) checks.push({ key: usageKeys.rpm(endpoint.id), window: minute, period: 'minute', amount: 1, limit: rpm, what: 'rpm', actual: () => 1 });
  if (tpm !== undefined) checks.push({ key: usageKeys.tpm(endpoint.id), window: minute, period: 'minute', amount: tokens, limit: tpm, what: 'tpm', actual: realTokens });
  return checks;
}

/** `rpm 60 used in this minute, resets at …`: what an attempt entry, provenance and the failure say. */
function limitReason(check: Check, used: number, resetsAt: string): string {
  const need = check.what === 'tpm' ? ` (this call needs up to ${check.amount} of ${check.limit})` : '';
  const never = check.amount > check.limit ? ` — one call's estimate is above the whole limit: raise ${check.what} or lower the route's maxTokens` : '';
  return `${check.what} ${used} used in this minute${need}, resets at ${resetsAt}${never}`;
}

function budgetError(route: Route, eventId: string, check: Check, used: number, resetsAt: string, nowMs: number): BudgetExceededError {
  const show = (n: number) => (check.what === 'costUsd' ? `$${(n / 1_000_000).toFixed(6)}` : `${n} tokens`);
  const never = check.amount > check.limit ? `; one call's estimate is above the whole budget: raise task.budget.${check.what} or lower task.maxTokens` : '';
  const message =
    `route ${route.id} is over its budget: ${show(used)} used of ${show(check.limit)} per ${check.period}, and this call needs up to ${show(check.amount)}; ` +
    `no model call was made. The window resets at ${resetsAt}: replay the event then${never}`;
  return new BudgetExceededError(message, {
    context: {
      routeId: route.id,
      eventId,
      budget: check.what,
      used: check.what === 'costUsd' ? used / 1_000_000 : used,
      limit: check.what === 'costUsd' ? check.limit / 1_000_000 : check.limit,
      per: check.period,
      resetsAt,
      retryAfterMs: Math.max(0, Date.parse(resetsAt) - nowMs),
    },
  });
}

/**
 * Budgets and limits need counters every instance shares; a mesh that declares any and has
 * none would silently not enforce them, so it refuses to start instead.
 *
 * @throws ConfigError naming each route budget and endpoint limit that cannot be enforced.
 */
export function requireCounters(config: MeshConfig, routes: Route[], counters: UsageCounters | undefined): void {
  if (counters) return;
  const why = 'cannot be enforced: this deployment\'s store keeps no usage counters; use a store that does (or remove it)';
  const issues: ConfigIssue[] = [
    ...routes.filter((r) => r.task.budget).map((r) => ({ file: r.file, path: 'task.budget', message: `route ${r.id}'s budget ${why}` })),
    ...config.models.flatMap((m, i) => (m.limits ? [{ file: config.file, path: `models[${i}].limits`, message: `endpoint ${m.id}'s limits ${why}` }] : [])),
  ];
  if (issues.length > 0) throw new ConfigError(issues);
}
