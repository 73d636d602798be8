import type { FailureFilter, FailureRecord, ReplayOutcome } from '../core/index.ts';
import type { ReplayRequest } from '../runtime/index.ts';
import { CircuitWait, type CircuitWaitNotice } from './circuitWait.ts';
import { envelopeMatchesWhere, type WhereClause } from './eventWhere.ts';

/** What replaying the ledger needs: the local mesh, or a running `mesh dev` through its admin API. */
export interface LedgerReplayAccess {
  listFailures(filter: FailureFilter): Promise<FailureRecord[]>;
  replay(request: ReplayRequest): Promise<ReplayOutcome>;
}

export interface FailureSelection {
  route?: string | undefined;
  error?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  whereClauses?: WhereClause[] | undefined;
}

/**
 * The open failures a filtered replay takes, oldest first (the order they failed in), at most `limit`.
 *
 * @example
 * await selectFailures(access, { route: 'order-risk', whereClauses: [parseWhere('detail.customer.tier=gold')] }, 100)
 */
export async function selectFailures(access: Pick<LedgerReplayAccess, 'listFailures'>, f: FailureSelection, limit?: number): Promise<string[]> {
  const records = await access.listFailures({
    status: 'open',
    ...(f.route ? { routeId: f.route } : {}),
    ...(f.error ? { errorCode: f.error } : {}),
    ...(f.since ? { since: new Date(f.since).toISOString() } : {}),
    ...(f.until ? { until: new Date(f.until).toISOString() } : {}),
  });
  const oldestFirst = records.reverse().filter((r) => envelopeMatchesWhere(r.envelope, f.whereClauses ?? [])).map((r) => r.id);
  return limit === undefined ? oldestFirst : oldestFirst.slice(0, limit);
}

export interface ReplayFailuresOptions {
  access: Pick<LedgerReplayAccess, 'replay'>;
  ids: string[];
  request: Omit<ReplayRequest, 'failureId'>;
  /** At most this many replays per second. */
  rate?: number;
  /** See CircuitWait. */
  maxWaitMs: number;
  /** Interrupt: the replay in flight finishes, the rest are not tried. */
  signal?: AbortSignal;
  onOutcome?(outcome: ReplayOutcome): void;
  onWait?(notice: CircuitWaitNotice): void;
}

export interface ReplayFailuresResult {
  outcomes: ReplayOutcome[];
  /** Why the run stopped early: an endpoint down, or `interrupted`. */
  stopped?: string;
  /** Failures never tried (after a stop): left as they were. */
  untried: number;
}

/**
 * Replay failures of the ledger one by one, in order, paced by `rate`, waiting out open
 * circuits within `maxWaitMs` and stopping early when an endpoint stays down (see CircuitWait).
 *
 * @example
 * const { outcomes, stopped } = await replayFailures({ access, ids, request: { actor: 'ana' }, maxWaitMs: 60_000 });
 */
export async function replayFailures(options: ReplayFailuresOptions): Promise<ReplayFailuresResult> {
  const { access, ids, request, signal } = options;
  const gate = new CircuitWait({ maxWaitMs: options.maxWaitMs, ...(options.onWait ? { onWait: options.onWait } : {}), ...(signal ? { signal } : {}) });
  const interval = options.rate ? 1000 / options.rate : 0;
  const outcomes: ReplayOutcome[] = [];
  let stopped: string | undefined;
  let next = Date.now();
  for (const failureId of ids) {
    if (signal?.aborted) {
      stopped = 'interrupted';
      break;
    }
    if (interval > 0) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next = Math.max(next, Date.now()) + interval;
    }
    const gated = await gate.run(() => access.replay({ failureId, ...request }));
    outcomes.push(gated.outcome);
    options.onOutcome?.(gated.outcome);
    if (gated.stop) {
      stopped = gated.stop;
      break;
    }
  }
  return { outcomes, untried: ids.length - outcomes.length, ...(stopped ? { stopped } : {}) };
}
