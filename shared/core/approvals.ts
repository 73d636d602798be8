import type { Destination } from './catalogue.ts';
import type { CloudEvent } from './cloudevent.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Envelope } from './envelope.ts';
import { InvalidEventError, MeshError, PublishFailedError, PublishRejectedError } from './errors.ts';
import { nameUuid } from './ids.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { ApprovalFilter, ApprovalRecord, ApprovalStore } from './ports/Approvals.ts';
import type { Publisher } from './ports/Publisher.ts';
import type { Route } from './route.ts';

/** The type (EventBridge detail-type) of an approval event: `{ resultId, decision: approve|reject, actor, reason? }`. */
export const APPROVAL_EVENT_TYPE = 'nearmesh.Approval';
/** The only source approval events are accepted from, unless mesh.yaml `approvals.source` names another. */
export const DEFAULT_APPROVAL_SOURCE = 'nearmesh.approvals';

/** No held result has this id. */
export class ApprovalNotFoundError extends MeshError {
  override readonly name = 'ApprovalNotFoundError';
  readonly code = 'ApprovalNotFound';
  readonly retryable = false;
}

/** The held result was decided otherwise already (approving a rejected one, rejecting an approved one). */
export class ApprovalConflictError extends MeshError {
  override readonly name = 'ApprovalConflictError';
  readonly code = 'ApprovalConflict';
  readonly retryable = false;
}

/** An approval event from a source other than the configured one: refused, never applied. */
export class ApprovalSourceRefusedError extends MeshError {
  override readonly name = 'ApprovalSourceRefusedError';
  readonly code = 'ApprovalSourceRefused';
  readonly retryable = false;
}

/** The id of the pending-approval event for a result: derived from it, so a retry publishes the same id. */
export function pendingApprovalId(resultId: string): string {
  return nameUuid(`nearmesh:pending-approval:${resultId}`);
}

/**
 * `<detailType>.PendingApproval`: what a route that requires approval publishes instead of its
 * result. Its data says which result waits (id, route, input) and a summary safe to show —
 * the endpoint, region, tokens and cost — but not the model's answer unless the route says so
 * (`approvalShowsOutput: true`).
 */
export function pendingApprovalEnvelope(route: Route, result: Envelope, heldAt: Date): Envelope {
  const r = result.event;
  const data = (r.data ?? {}) as { result?: unknown; provenance?: Record<string, unknown>; lineage?: Record<string, unknown> };
  const p = data.provenance ?? {};
  const lineage = data.lineage ?? {};
  const event: CloudEvent = {
    specversion: '1.0',
    id: pendingApprovalId(r.id),
    source: route.emit.source,
    type: `${route.emit.detailType}.PendingApproval`,
    time: heldAt.toISOString(),
    subject: r.id,
    datacontenttype: 'application/json',
    data: {
      resultId: r.id,
      route: route.id,
      inputId: lineage.inputId ?? r.subject ?? null,
      resultType: r.type,
      summary: { endpoint: p.endpoint, provider: p.provider, region: p.region, tokens: p.tokens, costUsd: p.costUsd, latencyMs: p.latencyMs },
      ...(route.approvalShowsOutput ? { output: data.result } : {}),
      approve: `mesh approve ${r.id}`,
    },
    extensions: { ...r.extensions },
  };
  return { event, origin: result.origin };
}

export interface ApprovalDeskOptions {
  approvals: ApprovalStore;
  publisher: Publisher;
  clock?: Clock;
  logger?: Logger;
}

/** What a decision did. `already-decided`: nothing changed and nothing was published. */
export type ApprovalOutcome =
  | { kind: 'approved'; record: ApprovalRecord; destinations: string[] }
  | { kind: 'rejected'; record: ApprovalRecord }
  | { kind: 'already-decided'; record: ApprovalRecord; message: string };

/**
 * Held results and the decisions on them: hold (the pipeline, for a route with
 * `approval: required`), approve (publish the held result, exactly as stored, once), reject
 * (record why; nothing is published). The CLI, the dev server and approval events all come here.
 *
 * @example
 * const desk = new ApprovalDesk({ approvals: store.approvals!, publisher });
 * const outcome = await desk.approve('5b1e…', 'ana'); // { kind: 'approved', destinations: ['orders-bus'] }
 */
export class ApprovalDesk {
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly opts: ApprovalDeskOptions) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
  }

  /**
   * Keep `result` until it is decided, then announce it with the pending-approval event on the
   * same destinations. Held once: a second hold of the same result id keeps the first and
   * announces it again (same event id) unless it was decided meanwhile. Throws
   * PublishFailed/PublishRejected like a result's publish.
   */
  async hold(route: Route, input: Envelope, result: Envelope, destinations: Destination[]): Promise<string[]> {
    const now = this.clock.now();
    const record: ApprovalRecord = {
      resultId: result.event.id,
      routeId: route.id,
      inputId: input.event.id,
      heldAt: now.toISOString(),
      status: 'pending',
      result,
      destinations,
    };
    const held = await this.opts.approvals.hold(record);
    if (!held) {
      // A retry after the announcement failed. Decided meanwhile (it was listed): nothing to announce.
      const earlier = await this.opts.approvals.get(record.resultId);
      if (earlier && earlier.status !== 'pending') return earlier.destinations.map((d) => d.name);
      this.logger.info('result already held for approval; announcing it again', { routeId: route.id, resultId: record.resultId });
    }
    const announced = pendingApprovalEnvelope(route, result, now);
    await this.publish(announced, destinations, route.id, input.event.id);
    return destinations.map((d) => d.name);
  }

  /**
   * Publish the held result to its destinations and mark it approved. Of two approvals at once
   * only one publishes (the store's conditional update decides); a second one is told when and
   * by whom it was approved. A publish that fails puts the record back to pending and throws,
   * so the approval can be made again.
   */
  async approve(resultId: string, actor: string): Promise<ApprovalOutcome> {
    const decision = { status: 'approved' as const, actor, at: this.clock.now().toISOString() };
    const done = await this.opts.approvals.decide(resultId, decision);
    if (!done.decided) return this.notPending(resultId, done.record, 'approve');
    const { record } = done;
    try {
      await this.publish(record.result, record.destinations, record.routeId, record.inputId);
    } catch (err) {
      await this.opts.approvals.reopen(resultId, decision).catch((reopenErr: unknown) => {
        this.logger.error('approved result could not be published, nor put back to pending', { resultId, message: (reopenErr as Error).message });
      });
      throw err;
    }
    this.logger.info('held result approved and published', { routeId: record.routeId, resultId, actor });
    return { kind: 'approved', record, destinations: record.destinations.map((d) => d.name) };
  }

  /** Record the rejection with its reason; nothing is published. */
  async reject(resultId: string, actor: string, reason: string): Promise<ApprovalOutcome> {
    if (reason.trim() === '') throw new InvalidEventError('a rejection needs a reason (mesh reject <result-id> --reason "…")', { context: { resultId } });
    const done = await this.opts.approvals.decide(resultId, { status: 'rejected', actor, at: this.clock.now().toISOString(), reason });
    if (!done.decided) return this.notPending(resultId, done.record, 'reject');
    this.logger.info('held result rejected', { routeId: done.record.routeId, resultId, actor });
    return { kind: 'rejected', record: done.record };
  }

  list(filter?: ApprovalFilter): Promise<ApprovalRecord[]> {
    return this.opts.approvals.list(filter);
  }

  get(resultId: string): Promise<ApprovalRecord | undefined> {
    return this.opts.approvals.get(resultId);
  }

  /** The same decision again is `already-decided`; the opposite one is refused; an unknown id is not found. */
  private notPending(resultId: string, record: ApprovalRecord | undefined, wanted: 'approve' | 'reject'): ApprovalOutcome {
    if (!record) throw new ApprovalNotFoundError(`no held result with id ${resultId}: list them with mesh approvals`, { context: { resultId } });
    const when = `${record.status} at ${record.decidedAt ?? '?'} by ${record.actor ?? '?'}${record.reason ? ` (reason: ${record.reason})` : ''}`;
    if ((wanted === 'approve' && record.status === 'approved') || (wanted === 'reject' && record.status === 'rejected')) {
      return { kind: 'already-decided', record, message: `result ${resultId} was already ${when}; nothing published` };
    }
    throw new ApprovalConflictError(`cannot ${wanted} result ${resultId}: it was ${when}`, { context: { resultId, routeId: record.routeId } });
  }

  private async publish(event: Envelope, destinations: Destination[], routeId: string, eventId: string): Promise<void> {
    for (const destination of destinations) {
      const [outcome] = await this.opts.publisher.publish(destination, [event]);
      if (!outcome || !outcome.ok) {
        const cause = outcome && !outcome.ok ? outcome.error : undefined;
        const message = `could not publish ${event.event.id} to destination ${destination.name}: ${cause?.message ?? 'no outcome'}`;
        const options = { cause, context: { routeId, eventId, destination: destination.name } };
        throw cause && !cause.retryable ? new PublishRejectedError(message, options) : new PublishFailedError(message, options);
      }
    }
  }
}

/** What an approval event asks for. */
export interface ApprovalRequest {
  resultId: string;
  decision: 'approve' | 'reject';
  actor: string;
  reason?: string;
}

/** Parse an approval event's data, saying what is wrong where. */
export function parseApprovalRequest(data: unknown, eventId: string): ApprovalRequest {
  const bad = (what: string) => new InvalidEventError(`approval event ${eventId}: data.${what}`, { context: { eventId } });
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw bad(': expected an object { resultId, decision: approve|reject, actor, reason? }');
  const d = data as Record<string, unknown>;
  if (typeof d.resultId !== 'string' || d.resultId === '') throw bad('resultId: expected the id of the held result');
  if (d.decision !== 'approve' && d.decision !== 'reject') throw bad(`decision: expected approve or reject, got ${JSON.stringify(d.decision)}`);
  if (typeof d.actor !== 'string' || d.actor === '') throw bad('actor: expected who decided');
  if (d.reason !== undefined && typeof d.reason !== 'string') throw bad('reason: expected text');
  if (d.decision === 'reject' && (typeof d.reason !== 'string' || d.reason.trim() === '')) throw bad('reason: a rejection needs a reason');
  return { resultId: d.resultId, decision: d.decision, actor: d.actor, ...(typeof d.reason === 'string' ? { reason: d.reason } : {}) };
}
