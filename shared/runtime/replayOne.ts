import { stat } from 'node:fs/promises';
import { InvalidEventError, Replayer, type FailureRecord, type ReplayOutcome, type Route } from '../core/index.ts';
import { createMemoryStore } from '../store/index.ts';
import { asObject, optionalString, requiredString } from '../buses/index.ts';
import { loadRouteFile } from '../config/index.ts';
import type { LocalMesh } from './createLocalMesh.ts';
// The file, not the on-call door: that door leads back here (its replay targets name ReplayRequest).
import { replayPatch } from '../oncall/patchEvent.ts';

/** One replay, as the CLI asks for it (directly, or through the admin API of `mesh dev`). */
export interface ReplayRequest {
  failureId: string;
  actor: string;
  dryRun?: boolean;
  model?: string;
  /** Path of a route file to replay through instead of the loaded route. */
  routeOverride?: string;
  /** A JSON merge patch (its text) on the event's detail, applied before the replay runs. */
  patch?: string;
  /** Where the patch came from (`fix.json`, `--edit`), kept in the history with it. */
  patchFrom?: string;
}

export function parseReplayRequest(input: unknown): ReplayRequest {
  const obj = asObject(input, 'replay request');
  if (obj.dryRun !== undefined && typeof obj.dryRun !== 'boolean') throw new InvalidEventError('replay request.dryRun: expected true or false');
  const model = optionalString(obj, 'model', 'replay request');
  const routeOverride = optionalString(obj, 'routeOverride', 'replay request');
  const patch = optionalString(obj, 'patch', 'replay request');
  const patchFrom = optionalString(obj, 'patchFrom', 'replay request');
  return {
    failureId: requiredString(obj, 'failureId', 'replay request'),
    actor: requiredString(obj, 'actor', 'replay request'),
    ...(obj.dryRun === true ? { dryRun: true } : {}),
    ...(model ? { model } : {}),
    ...(routeOverride ? { routeOverride } : {}),
    ...(patch ? { patch } : {}),
    ...(patchFrom ? { patchFrom } : {}),
  };
}

// A replay of many failures names the same override each time: load it once per file version.
const overrides = new WeakMap<LocalMesh, Map<string, { mtimeMs: number; route: Route }>>();

async function loadOverride(mesh: LocalMesh, file: string): Promise<Route> {
  const cache = overrides.get(mesh) ?? new Map<string, { mtimeMs: number; route: Route }>();
  overrides.set(mesh, cache);
  const mtimeMs = await stat(file).then((s) => s.mtimeMs, () => -1);
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === mtimeMs) return hit.route;
  const route = await loadRouteFile(file, mesh.config);
  cache.set(file, { mtimeMs, route });
  return route;
}

/** Replay one failure through the local mesh. A route override is loaded and validated first (ConfigError if invalid). */
export async function replayOne(mesh: LocalMesh, request: ReplayRequest): Promise<ReplayOutcome> {
  const routeOverride = request.routeOverride ? { route: await loadOverride(mesh, request.routeOverride), file: request.routeOverride } : undefined;
  return mesh.replayer.replay(request.failureId, {
    actor: request.actor,
    ...(request.dryRun ? { dryRun: true } : {}),
    ...(request.model ? { model: request.model } : {}),
    ...(routeOverride ? { routeOverride } : {}),
    ...(request.patch ? { patch: replayPatch(request.patch, request.patchFrom) } : {}),
  });
}

/**
 * Replay an event that failed somewhere else (an SQS dead letter) through the local mesh:
 * its failure is written to the ledger first (unless an open record is already there), so the
 * replay's history is kept where the next engineer looks. A dry run writes nothing: the
 * record goes to a scratch ledger, while idempotency is the real one, so "already done" is true.
 */
export async function replayForeignFailure(mesh: LocalMesh, failure: FailureRecord, request: Omit<ReplayRequest, 'failureId'>): Promise<ReplayOutcome> {
  if (request.dryRun) {
    const scratch = createMemoryStore();
    await scratch.failures.recordFailure(failure);
    const store = { ...scratch, idempotency: mesh.store.idempotency };
    const replayer = new Replayer({ pipeline: mesh.pipeline, placer: mesh.placer, store });
    return replayOne({ ...mesh, replayer }, { ...request, failureId: failure.id });
  }
  const existing = await mesh.store.failures.getFailure(failure.id);
  if (!existing || existing.status === 'resolved') await mesh.store.failures.recordFailure(failure);
  return replayOne(mesh, { ...request, failureId: failure.id });
}
