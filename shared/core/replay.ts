import { systemClock, type Clock } from './clock.ts';
import { MeshError } from './errors.ts';
import type { Pipeline } from './pipeline.ts';
import type { PlacementDecision, Placer } from './ports/Placer.ts';
import type { FailureRecord, ReplayRecord, Store } from './ports/Store.ts';
import type { Route } from './route.ts';
import type { Envelope } from './envelope.ts';

export interface ReplayOptions {
  /** Who is replaying (the OS user or `--actor`), kept in the failure's history. */
  actor: string;
  /** Say what would happen, including the placement each event would get now; change nothing. */
  dryRun?: boolean;
  /** Use only this catalogue endpoint; it must still be allowed by the residency policy. */
  model?: string;
  /** Replay through this route instead of the one loaded (it must have the failure's route id). */
  routeOverride?: { route: Route; file: string };
  /**
   * Edit before replay: the event runs as `apply` returns it (it throws InvalidEventError when
   * the edited event is not valid input). The failure keeps the original event; `summary` (the
   * patch) goes to the replay's history as options.patch, so both are there for the next engineer.
   */
  patch?: { apply(envelope: Envelope): Envelope; summary: string; from?: string };
}

export type ReplayOutcomeKind =
  | ReplayRecord['outcome']
  /** Dry run: it would run, and this is where. */
  | 'would-replay'
  /** Dry run: it would be skipped (already done, or cannot run). */
  | 'would-skip';

export interface ReplayOutcome {
  failureId: string;
  eventId?: string;
  routeId?: string;
  outcome: ReplayOutcomeKind;
  /** Result id on success; otherwise why, in one line. */
  detail: string;
  resultId?: string;
  /** The endpoint it ran on (or, in a dry run, would run on first). */
  endpoint?: string;
  placement?: PlacementDecision;
  /**
   * Set when nothing ran because every endpoint the route may use has its circuit open: no
   * model call was made and the failure's history was left as it was (outcome `not-replayed`).
   * A replay run waits until `until` or stops (see the on-call CircuitWait).
   */
  blocked?: CircuitBlock;
}

/** Endpoints whose open circuits kept a replay from running, and when the first of them half-opens. */
export interface CircuitBlock {
  until: string;
  endpoints: string[];
}

export interface ReplayerDeps {
  pipeline: Pipeline;
  placer: Placer;
  store: Store;
  clock?: Clock;
}

/**
 * Replays failed events from the failure ledger through the same pipeline, unchanged.
 *
 * Safe to repeat and to interrupt: result ids are deterministic and idempotency is keyed by
 * route + event, so an event whose result already exists is skipped as already done; a
 * failure record is closed only by a replay that succeeded; a replay that fails again
 * updates the record with the new reason; and every replay is appended to the record's
 * history with who ran it, when, with which options and how it ended.
 *
 * @example
 * const replayer = new Replayer({ pipeline, placer, store });
 * await replayer.replay(failureId, { actor: 'ana' }) // → { outcome: 'succeeded', resultId: '…' }
 */
export class Replayer {
  private readonly clock: Clock;
  private readonly routes: Map<string, Route>;

  constructor(private readonly deps: ReplayerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.routes = new Map(deps.pipeline.routes.map((r) => [r.id, r]));
  }

  async replay(failureId: string, options: ReplayOptions): Promise<ReplayOutcome> {
    const record = await this.deps.store.failures.getFailure(failureId);
    if (!record) return { failureId, outcome: options.dryRun ? 'would-skip' : 'not-replayed', detail: 'no failure with this id' };
    const base = { failureId, eventId: record.eventId, ...(record.routeId ? { routeId: record.routeId } : {}) };
    if (record.status === 'resolved') {
      return { ...base, outcome: options.dryRun ? 'would-skip' : 'not-replayed', detail: 'already resolved' };
    }

    const route = this.routeFor(record, options);
    if (typeof route === 'string') return this.finish(record, options, { ...base, outcome: options.dryRun ? 'would-skip' : 'not-replayed', detail: route });

    const key = `${route.id}:${record.eventId}`;
    let done: Awaited<ReturnType<Store['idempotency']['peek']>>;
    try {
      done = await this.deps.store.idempotency.peek(key);
    } catch (err) {
      // The claim store is down: nothing ran. The event keeps its place; the reason goes to its history.
      const detail = `${err instanceof MeshError ? err.code : 'StoreUnavailable'}: could not read the claim of route ${route.id}: ${err instanceof Error ? err.message : String(err)}`;
      if (options.dryRun) return { ...base, outcome: 'would-skip', detail };
      return this.finish(record, options, { ...base, outcome: 'failed-again', detail });
    }
    if (done?.state === 'completed') {
      const detail = `result ${done.resultId} already exists`;
      if (options.dryRun) return { ...base, outcome: 'would-skip', detail, resultId: done.resultId };
      await this.deps.store.failures.resolveFailure(record.id);
      return this.finish(record, options, { ...base, outcome: 'already-done', detail, resultId: done.resultId });
    }

    let envelope = record.envelope;
    if (options.patch) {
      try {
        envelope = options.patch.apply(record.envelope);
      } catch (err) {
        if (!(err instanceof MeshError) || err.retryable) throw err;
        // The engineer's edit is refused before anything runs; the failure stays as it was.
        return { ...base, outcome: options.dryRun ? 'would-skip' : 'not-replayed', detail: `patch refused: ${err.message}` };
      }
    }
    const run = { ...record, envelope };

    if (options.dryRun) return this.dryRun(run, route, options, base);

    // Every endpoint down by its circuit: running would only refuse the event without a model
    // call and mark it failed again. Leave it untouched and say until when (the run decides to wait or stop).
    const blocked = this.circuitBlock(route, run, options.model);
    if (blocked) return blockedOutcome(base, blocked);

    // A --model the policy forbids is refused before running, so the ledger keeps the event's own reason.
    if (options.model) {
      const check = this.dryRun(run, route, options, base);
      if (check.outcome === 'would-skip' && check.detail.startsWith('--model')) {
        return this.finish(record, options, { ...base, outcome: 'not-replayed', detail: check.detail });
      }
    }

    const ran = await this.deps.pipeline.processRoute(route, envelope, options.model ? { onlyEndpoint: options.model } : {});
    const endpoint = ran.endpoint ? { endpoint: ran.endpoint } : {};
    switch (ran.status) {
      // Held for approval counts as done here: the result exists and waits for its decision.
      case 'pending-approval':
      case 'emitted':
        return this.finish(record, options, { ...base, ...endpoint, outcome: 'succeeded', detail: ran.resultId!, resultId: ran.resultId! });
      case 'duplicate':
        await this.deps.store.failures.resolveFailure(record.id);
        return this.finish(record, options, { ...base, outcome: 'already-done', detail: `result ${ran.resultId} already exists`, resultId: ran.resultId! });
      // approved / rejected come from approval events only, never from a route run.
      case 'approved':
      case 'rejected':
      case 'in-progress':
        return this.finish(record, options, { ...base, outcome: 'not-replayed', detail: 'another delivery of this event is being processed right now' });
      case 'failed': {
        // A placer this Replayer does not share (a cloud deployment's) refused on open circuits:
        // no model call was made, so this is no new failure to record in the history.
        const refused = ran.attempts.length === 0 ? blockOf(ran.error) : undefined;
        if (refused) return blockedOutcome(base, refused);
        return this.finish(record, options, {
          ...base,
          ...(ran.attempts.at(-1) ? { endpoint: ran.attempts.at(-1)!.endpoint } : {}),
          outcome: 'failed-again',
          detail: `${ran.error!.code}: ${ran.error!.message}`,
        });
      }
    }
  }

  /** The open circuits that keep every endpoint allowed for this route (or the pinned --model) from being called. */
  private circuitBlock(route: Route, record: FailureRecord, model: string | undefined): CircuitBlock | undefined {
    let placement: PlacementDecision;
    try {
      placement = this.deps.placer.place(route, record.envelope);
    } catch (err) {
      return blockOf(err);
    }
    if (model === undefined || placement.ranked.some((r) => r.endpoint.id === model)) return undefined;
    const skipped = placement.skipped?.find((s) => s.endpointId === model);
    return skipped ? { until: skipped.until, endpoints: [model] } : undefined;
  }

  private routeFor(record: FailureRecord, options: ReplayOptions): Route | string {
    if (!record.routeId) return 'the failure names no route';
    if (options.routeOverride) {
      const { route, file } = options.routeOverride;
      return route.id === record.routeId ? route : `route override ${file} is route ${route.id}, but this failure is on route ${record.routeId}`;
    }
    return this.routes.get(record.routeId) ?? `route ${record.routeId} is no longer loaded; restore it or pass --route-override <file>`;
  }

  private dryRun(record: FailureRecord, route: Route, options: ReplayOptions, base: Omit<ReplayOutcome, 'outcome' | 'detail'>): ReplayOutcome {
    try {
      const placement = this.deps.placer.place(route, record.envelope);
      const candidates = options.model ? placement.ranked.filter((r) => r.endpoint.id === options.model) : placement.ranked;
      if (candidates.length === 0) {
        const why = placement.rejected.find((r) => r.endpointId === options.model)?.reason ?? 'it is not in the catalogue';
        return { ...base, outcome: 'would-skip', detail: `--model ${options.model} may not serve this event: ${why}`, placement };
      }
      const first = candidates[0]!;
      return { ...base, outcome: 'would-replay', detail: `${first.endpoint.id}: ${first.reason}`, endpoint: first.endpoint.id, placement };
    } catch (err) {
      if (!(err instanceof MeshError)) throw err;
      const placement = err.context.placement as PlacementDecision | undefined;
      return { ...base, outcome: 'would-skip', detail: `would fail again: ${err.code}: ${err.message}`, ...(placement ? { placement } : {}) };
    }
  }

  /** Append the replay to the failure's history (dry runs leave no trace). */
  private async finish(record: FailureRecord, options: ReplayOptions, outcome: ReplayOutcome): Promise<ReplayOutcome> {
    if (options.dryRun) return outcome;
    const used: Record<string, string> = {};
    if (options.model) used.model = options.model;
    if (options.routeOverride) used.routeOverride = options.routeOverride.file;
    if (options.patch) {
      used.patch = options.patch.summary;
      if (options.patch.from) used.patchFrom = options.patch.from;
    }
    await this.deps.store.failures.recordReplay(record.id, {
      at: this.clock.now().toISOString(),
      actor: options.actor,
      outcome: outcome.outcome as ReplayRecord['outcome'],
      detail: outcome.detail,
      ...(Object.keys(used).length > 0 ? { options: used } : {}),
    });
    return outcome;
  }
}

/** A placement error that means "every allowed endpoint's circuit is open", as a CircuitBlock. */
function blockOf(err: unknown): CircuitBlock | undefined {
  if (!(err instanceof MeshError) || err.code !== 'ModelUnavailable') return undefined;
  const placement = err.context.placement as PlacementDecision | undefined;
  const skipped = placement?.skipped ?? [];
  if (skipped.length === 0 || (placement?.ranked.length ?? 0) > 0) return undefined;
  const until = skipped.map((s) => s.until).sort()[0]!;
  return { until, endpoints: skipped.map((s) => s.endpointId) };
}

function blockedOutcome(base: Omit<ReplayOutcome, 'outcome' | 'detail'>, blocked: CircuitBlock): ReplayOutcome {
  return {
    ...base,
    outcome: 'not-replayed',
    detail: `not tried: circuit open for ${blocked.endpoints.join(', ')} until ${blocked.until} (no model call made; the failure is left as it was)`,
    blocked,
  };
}
