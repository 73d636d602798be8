import { randomIds, systemClock, type ReplayOutcome, type EventLogEntry, type EventLogFilter, type FailureFilter, type FailureRecord } from '../../shared/core/index.ts';
import { decodeAny } from '../../shared/buses/index.ts';
import { createLocalMesh, outcomeToJson, replayForeignFailure, replayOne, type LocalMesh, type ReplayRequest } from '../../shared/runtime/index.ts';
import { LedgerUnavailableError } from '../../shared/oncall/index.ts';
import { openLocalStore, StoreLockedError, type LocalStore } from '../../shared/store/index.ts';
import {
  ApprovalConflictError,
  ApprovalNotFoundError,
  type ApprovalFilter,
  type ApprovalOutcome,
  type ApprovalRecord,
  type ApprovalRequest,
  type Store,
} from '../../shared/core/index.ts';
import type { AuditEntry, AuditFilter } from '../../shared/core/ports/AuditLog.ts';
import { adminRequest, findRunningDev, type DevInfo } from './devClient.ts';
import type { CommonOptions } from './options.ts';

/**
 * How a command reaches the mesh's data: through the running `mesh dev` (which holds the
 * embedded store, and admits one process) or, when none runs, by opening the store itself.
 */
export interface MeshAccess {
  readonly via: string;
  listEvents(filter: EventLogFilter): Promise<EventLogEntry[]>;
  listFailures(filter: FailureFilter): Promise<FailureRecord[]>;
  getFailure(id: string): Promise<FailureRecord | undefined>;
  /** Replay one failure (see Replayer); a route override is a file path. */
  replay(request: ReplayRequest): Promise<ReplayOutcome>;
  /**
   * Replay an event that failed elsewhere (a dead-letter queue): `failure` is its ledger record
   * (id = failureId(route, event)), written first unless an open one exists, so the replay's
   * history is kept where the next engineer looks. A dry run writes nothing.
   */
  replayEvent(failure: FailureRecord, request: Omit<ReplayRequest, 'failureId'>): Promise<ReplayOutcome>;
  /** Held results, newest first. */
  listApprovals(filter: ApprovalFilter): Promise<ApprovalRecord[]>;
  /** Approve (publish once) or reject (with a reason) a held result; see ApprovalDesk. */
  decideApproval(resultId: string, decision: Omit<ApprovalRequest, 'resultId'>): Promise<ApprovalOutcome>;
  /** The audit trail of model invocations, newest first. */
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
  /** Process an event document (any supported shape); returns outcome JSON. */
  ingest(doc: unknown): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/**
 * `needsPipeline`: the caller will process or replay events, so build the whole local mesh at once rather
 * than opening the store for reading, closing it and reopening it with the mesh later.
 */
export async function openAccess(opts: CommonOptions, { needsPipeline = false }: { needsPipeline?: boolean } = {}): Promise<MeshAccess> {
  const dev = await findRunningDev(opts.home);
  if (dev) return remoteAccess(dev);
  return localAccess(opts, needsPipeline ? await createLocalMesh({ configFile: opts.config, routesDir: opts.routes, home: opts.home, models: opts.models }) : undefined);
}

function remoteAccess(dev: DevInfo): MeshAccess {
  const qs = (o: object) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) if (v !== undefined) p.set(k, String(v));
    const s = p.toString();
    return s ? `?${s}` : '';
  };
  return {
    via: `mesh dev at ${dev.url} (pid ${dev.pid})`,
    listEvents: async (f) =>
      (await adminRequest<{ events: EventLogEntry[] }>(dev, `/_mesh/events${qs({ kind: f.kind, route: f.routeId, after: f.afterSeq, limit: f.limit })}`)).events,
    listFailures: async (f) =>
      (
        await adminRequest<{ failures: FailureRecord[] }>(
          dev,
          `/_mesh/failed${qs({ route: f.routeId, error: f.errorCode, status: f.status, since: f.since, until: f.until, limit: f.limit })}`,
        )
      ).failures,
    getFailure: async (id) => {
      try {
        return (await adminRequest<{ failure: FailureRecord }>(dev, `/_mesh/failed/${encodeURIComponent(id)}`)).failure;
      } catch (err) {
        if (/answered 404/.test((err as Error).message)) return undefined;
        throw err;
      }
    },
    replay: async (request) =>
      (
        await adminRequest<{ outcome: ReplayOutcome }>(dev, '/_mesh/replay', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(request),
        })
      ).outcome,
    replayEvent: async (failure, request) =>
      (
        await adminRequest<{ outcome: ReplayOutcome }>(dev, '/_mesh/replay-event', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ failure, request }),
        })
      ).outcome,
    listApprovals: async (f) =>
      (await adminRequest<{ approvals: ApprovalRecord[] }>(dev, `/_mesh/approvals${qs({ status: f.status, route: f.routeId, limit: f.limit })}`)).approvals,
    decideApproval: async (resultId, d) => {
      try {
        return (
          await adminRequest<{ outcome: ApprovalOutcome }>(dev, `/_mesh/approvals/${encodeURIComponent(resultId)}/${d.decision}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ actor: d.actor, ...(d.reason === undefined ? {} : { reason: d.reason }) }),
          })
        ).outcome;
      } catch (err) {
        // The desk's own refusals come back as 404 / 409 with its message: the same errors as locally.
        const m = /answered (404 ApprovalNotFound|409 ApprovalConflict): (.*)$/s.exec((err as Error).message);
        if (!m) throw err;
        throw m[1]!.startsWith('404') ? new ApprovalNotFoundError(m[2]!, { context: { resultId } }) : new ApprovalConflictError(m[2]!, { context: { resultId } });
      }
    },
    listAudit: async (f) => (await adminRequest<{ audit: AuditEntry[] }>(dev, `/_mesh/audit${qs({ route: f.routeId, since: f.since, limit: f.limit })}`)).audit,
    ingest: async (doc) =>
      (
        await adminRequest<{ outcomes: Array<Record<string, unknown>> }>(dev, '/_mesh/ingest', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(doc),
        })
      ).outcomes,
    close: async () => {},
  };
}

async function localAccess(opts: CommonOptions, built?: LocalMesh): Promise<MeshAccess> {
  // Reading needs only the store; ingesting needs the whole mesh, built on first use.
  let mesh = built;
  let store = mesh ? mesh.store : await openLocalStore({ dir: opts.home });
  let audit = mesh ? mesh.audit : (store as LocalStore).audit;
  const meshForWork = async (): Promise<LocalMesh> => {
    if (!mesh) {
      await store.close();
      mesh = await createLocalMesh({ configFile: opts.config, routesDir: opts.routes, home: opts.home, models: opts.models });
      store = mesh.store;
      audit = mesh.audit;
    }
    return mesh;
  };
  return {
    via: `the embedded store in ${opts.home} (mesh dev is not running)`,
    listEvents: (f) => store.events.listEvents(f),
    listFailures: (f) => store.failures.listFailures(f),
    getFailure: (id) => store.failures.getFailure(id),
    listAudit: async (f) => (audit ? audit.listAudit(f) : []),
    listApprovals: async (f) => (store.approvals ? store.approvals.list(f) : []),
    decideApproval: async (resultId, d) => {
      const desk = (await meshForWork()).pipeline.approvals;
      if (!desk) throw new Error('this mesh keeps no held results');
      return d.decision === 'approve' ? desk.approve(resultId, d.actor) : desk.reject(resultId, d.actor, d.reason ?? '');
    },
    replay: async (request) => replayOne(await meshForWork(), request),
    replayEvent: async (failure, request) => replayForeignFailure(await meshForWork(), failure, request),
    ingest: async (doc) => {
      mesh = await meshForWork();
      const envelopes = decodeAny(doc, {
        sources: mesh.config.sources,
        putEvents: { id: randomIds.newId(), now: systemClock.now(), region: 'us-east-1', account: '000000000000' },
        httpOrigin: { transport: 'http', cloud: 'local' },
      });
      const out: Array<Record<string, unknown>> = [];
      for (const e of envelopes) out.push(outcomeToJson(await mesh.pipeline.process(e)));
      return out;
    },
    close: () => (mesh ? mesh.close() : store.close()),
  };
}

/**
 * The local ledger alone, for a replay that runs in a cloud and keeps its history here. It is
 * the embedded store, which one process holds at a time: with `mesh dev` running, stop it first.
 */
export async function openLedger(opts: CommonOptions): Promise<Store> {
  try {
    return await openLocalStore({ dir: opts.home });
  } catch (err) {
    if (!(err instanceof StoreLockedError)) throw err;
    throw new LedgerUnavailableError(`the replay history is kept in the local ledger, and ${err.message}`, { cause: err });
  }
}
