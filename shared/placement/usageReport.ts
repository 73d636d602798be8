import type { MeshConfig, ModelEndpoint } from '../core/catalogue.ts';
import { counterWindow, windowResetsAt, type CounterPeriod, type UsageCounters } from '../core/ports/Counters.ts';
import type { Route } from '../core/route.ts';
import { usageKeys } from '../core/usageGate.ts';

/** One budget or limit with its use in the current window. */
export interface UsageLine {
  what: 'tokens' | 'costUsd' | 'rpm' | 'tpm';
  /** Used in this window; `null` when there are no counters to read. */
  used: number | null;
  limit: number;
  per: CounterPeriod;
  resetsAt: string;
  /** No further call fits in this window (at least one more request, or `maxTokens` more tokens). */
  exhausted: boolean;
}

/** Every route budget and endpoint limit of a mesh, read at one instant (`mesh explain`, `/_mesh/usage`). */
export interface UsageReport {
  at: string;
  /** False when the store keeps no usage counters: `used` is then unknown. */
  counted: boolean;
  routes: Record<string, UsageLine[]>;
  endpoints: Record<string, UsageLine[]>;
}

/**
 * Read the current window of each route budget and endpoint limit. Makes no reservation.
 *
 * @example
 * const report = await readUsageReport(config, routes, store.counters, Date.now());
 * report.endpoints['bedrock-us-east-1'] // → [{ what: 'rpm', used: 60, limit: 60, per: 'minute', resetsAt: '…', exhausted: true }]
 */
export async function readUsageReport(config: MeshConfig, routes: Route[], counters: UsageCounters | undefined, nowMs: number): Promise<UsageReport> {
  const report: UsageReport = { at: new Date(nowMs).toISOString(), counted: counters !== undefined, routes: {}, endpoints: {} };
  const line = async (what: UsageLine['what'], key: string, per: CounterPeriod, limit: number, scale: number, need: number): Promise<UsageLine> => {
    const raw = counters ? await counters.read(key, counterWindow(per, nowMs)) : null;
    const used = raw === null ? null : raw / scale;
    return { what, used, limit, per, resetsAt: windowResetsAt(per, nowMs), exhausted: used !== null && (need === 0 ? used >= limit : used + need > limit) };
  };
  for (const route of routes) {
    const budget = route.task.budget;
    if (!budget) continue;
    const lines: UsageLine[] = [];
    if (budget.tokens !== undefined) lines.push(await line('tokens', usageKeys.budgetTokens(route.id), budget.per, budget.tokens, 1, route.task.maxTokens));
    if (budget.costUsd !== undefined) lines.push(await line('costUsd', usageKeys.budgetMicroUsd(route.id), budget.per, budget.costUsd, 1_000_000, 0));
    report.routes[route.id] = lines;
  }
  const smallestAnswer = Math.min(...routes.map((r) => r.task.maxTokens), Number.MAX_SAFE_INTEGER);
  for (const endpoint of config.models) {
    const lines = await endpointLines(endpoint, line, smallestAnswer);
    if (lines.length > 0) report.endpoints[endpoint.id] = lines;
  }
  return report;
}

async function endpointLines(
  endpoint: ModelEndpoint,
  line: (what: UsageLine['what'], key: string, per: CounterPeriod, limit: number, scale: number, need: number) => Promise<UsageLine>,
  smallestAnswer: number,
): Promise<UsageLine[]> {
  const { rpm, tpm } = endpoint.limits ?? {};
  const lines: UsageLine[] = [];
  if (rpm !== undefined) lines.push(await line('rpm', usageKeys.rpm(endpoint.id), 'minute', rpm, 1, 1));
  if (tpm !== undefined) lines.push(await line('tpm', usageKeys.tpm(endpoint.id), 'minute', tpm, 1, smallestAnswer));
  return lines;
}

/** `tokens 120 of 200 per hour` / `rpm 60 of 60 per minute — exhausted until …` / `rpm ? of 60 per minute (not counted here)`. */
export function formatUsageLine(l: UsageLine): string {
  const show = (n: number) => (l.what === 'costUsd' ? `$${Number(n.toFixed(6))}` : String(n));
  const used = l.used === null ? '?' : show(l.used);
  const state = l.used === null ? ' (no counters to read)' : l.exhausted ? ` — exhausted until ${l.resetsAt}` : `, resets at ${l.resetsAt}`;
  return `${l.what} ${used} of ${show(l.limit)} per ${l.per}${state}`;
}

/**
 * What `mesh explain --json` adds to a route: its budget (null when it has none) and the limits
 * of the endpoints it may use, by endpoint id.
 */
export function routeUsageJson(report: UsageReport, routeId: string, endpointIds: string[]): { budget: UsageLine[] | null; limits: Record<string, UsageLine[]> } {
  const limits: Record<string, UsageLine[]> = {};
  for (const id of endpointIds) if (report.endpoints[id]) limits[id] = report.endpoints[id];
  return { budget: report.routes[routeId] ?? null, limits };
}

/**
 * The budget and limit lines `mesh explain` prints under a route's placement: the route's
 * budget, then the limits of each endpoint it may use, in placement order.
 */
export function formatRouteUsage(report: UsageReport, routeId: string, endpointIds: string[]): string[] {
  const lines: string[] = [];
  const budget = report.routes[routeId];
  if (budget) lines.push(`  budget   ${budget.map(formatUsageLine).join('; ')}`);
  for (const id of endpointIds) {
    const limits = report.endpoints[id];
    if (limits) lines.push(`  limits   ${id}: ${limits.map(formatUsageLine).join('; ')}`);
  }
  return lines;
}
