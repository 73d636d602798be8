import { stat } from 'node:fs/promises';
import { Replayer, type FailureRecord, type IdempotencyStore, type MeshConfig, type Pipeline, type ReplayOutcome, type Route, type Store } from '../core/index.ts';
import { loadRouteFile } from '../config/index.ts';
import { createPlacer } from '../placement/index.ts';
import { createMemoryStore } from '../store/index.ts';
import type { ReplayRequest } from '../runtime/index.ts';
import type { ReplayTarget } from './ReplayTarget.ts';
import { replayPatch } from './patchEvent.ts';

export interface MeshReplayTargetOptions {
  /** The deployment's pipeline: its publisher and claims are the cloud's; its failures go to `ledger`. */
  pipeline: Pipeline;
  config: MeshConfig;
  /** The deployment's claims: "already done" is what they say, not what the local store says. */
  idempotency: IdempotencyStore;
  /** Where replay history is kept (the local ledger). Not closed by the target. */
  ledger: Store['failures'];
  via: string;
  /** Adjust the event before it runs (the bus results of a route without destination go back to). */
  prepare?: (failure: FailureRecord) => FailureRecord;
  close(): Promise<void>;
}

/**
 * A replay target around a deployment's pipeline: the Replayer's guarantees (already done is
 * skipped, a record closes only on success, every replay appended to the history), with the
 * claims the deployment holds and the ledger the engineer reads.
 *
 * @example
 * const target = meshReplayTarget({ pipeline: mesh.pipeline, config: mesh.config, idempotency, ledger: local.failures, via: 'AWS', close: mesh.close });
 * await target.replayEvent(deadLetterFailure(place, letter, 'order-risk'), { actor: 'ana' });
 */
export function meshReplayTarget(options: MeshReplayTargetOptions): ReplayTarget {
  // Dry runs and --model checks rank endpoints; the pipeline keeps its own circuits for the real calls.
  const placer = createPlacer(options.config);
  const overrides = new Map<string, { mtimeMs: number; route: Route }>();
  const loadOverride = async (file: string): Promise<Route> => {
    const mtimeMs = await stat(file).then((s) => s.mtimeMs, () => -1);
    const hit = overrides.get(file);
    if (hit && hit.mtimeMs === mtimeMs) return hit.route;
    const route = await loadRouteFile(file, options.config);
    overrides.set(file, { mtimeMs, route });
    return route;
  };
  const run = async (replayer: Replayer, failureId: string, request: Omit<ReplayRequest, 'failureId'>): Promise<ReplayOutcome> => {
    const routeOverride = request.routeOverride ? { route: await loadOverride(request.routeOverride), file: request.routeOverride } : undefined;
    return replayer.replay(failureId, {
      actor: request.actor,
      ...(request.dryRun ? { dryRun: true } : {}),
      ...(request.model ? { model: request.model } : {}),
      ...(routeOverride ? { routeOverride } : {}),
      ...(request.patch ? { patch: replayPatch(request.patch, request.patchFrom) } : {}),
    });
  };
  return {
    via: options.via,
    async replayEvent(given, request) {
      const failure = options.prepare ? options.prepare(given) : given;
      if (request.dryRun) {
        // The record goes to a scratch ledger; the claims are the deployment's, so "already done" is true.
        const scratch = createMemoryStore();
        await scratch.failures.recordFailure(failure);
        const replayer = new Replayer({ pipeline: options.pipeline, placer, store: { ...scratch, idempotency: options.idempotency } });
        return run(replayer, failure.id, request);
      }
      const existing = await options.ledger.getFailure(failure.id);
      if (!existing || existing.status === 'resolved') await options.ledger.recordFailure(failure);
      const store: Store = { idempotency: options.idempotency, failures: options.ledger, events: createMemoryStore().events, close: async () => {} };
      return run(new Replayer({ pipeline: options.pipeline, placer, store }), failure.id, request);
    },
    close: () => options.close(),
  };
}
