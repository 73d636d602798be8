import { APPROVAL_EVENT_TYPE, ApprovalSourceRefusedError, DEFAULT_APPROVAL_SOURCE, parseApprovalRequest, type ApprovalDesk } from './approvals.ts';
import type { Clock } from './clock.ts';
import type { Envelope } from './envelope.ts';
import { toMeshError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { EventOutcome, RouteOutcome } from './pipeline.ts';

/** An event asking to approve or reject a held result (`type` / detail-type `nearmesh.Approval`). */
export function isApprovalEvent(envelope: Envelope): boolean {
  return envelope.event.type === APPROVAL_EVENT_TYPE;
}

/**
 * Apply an approval event: accepted only from `source` (mesh.yaml `approvals.source`, default
 * `nearmesh.approvals`), so a producer that may put business events on the bus cannot
 * approve by naming the type. The outcome has one entry, under the held result's route:
 * `approved` (published), `rejected`, `duplicate` (decided so before: nothing published), or
 * `failed` — retryable when the store or the publish failed (the transport delivers it again),
 * not when the event is malformed, from another source, unknown or contradicts a decision.
 */
export async function approvalEventOutcome(
  desk: ApprovalDesk,
  envelope: Envelope,
  options: { source: string | undefined; clock: Clock; logger: Logger },
): Promise<EventOutcome> {
  const { event } = envelope;
  const started = options.clock.now().getTime();
  const base = { eventId: event.id, type: event.type, source: event.source };
  const elapsed = () => options.clock.now().getTime() - started;
  let routeId = 'nearmesh.approval';
  try {
    const allowed = options.source ?? DEFAULT_APPROVAL_SOURCE;
    if (event.source !== allowed) {
      throw new ApprovalSourceRefusedError(`approval event ${event.id} came from source ${JSON.stringify(event.source)}; approvals are accepted only from ${JSON.stringify(allowed)} (mesh.yaml approvals.source)`, {
        context: { eventId: event.id },
      });
    }
    const request = parseApprovalRequest(event.data, event.id);
    routeId = (await desk.get(request.resultId))?.routeId ?? routeId;
    const outcome = request.decision === 'approve' ? await desk.approve(request.resultId, request.actor) : await desk.reject(request.resultId, request.actor, request.reason ?? '');
    const route: RouteOutcome = {
      routeId: outcome.record.routeId,
      status: outcome.kind === 'already-decided' ? 'duplicate' : outcome.kind,
      resultId: request.resultId,
      ...(outcome.kind === 'approved' ? { result: outcome.record.result, destinations: outcome.destinations } : {}),
      latencyMs: elapsed(),
      attempts: [],
    };
    return { ...base, routes: [route] };
  } catch (err) {
    const error = toMeshError(err, { eventId: event.id, routeId });
    options.logger.error('approval event not applied', { eventId: event.id, code: error.code, message: error.message });
    return { ...base, routes: [{ routeId, status: 'failed', latencyMs: elapsed(), attempts: [], error }] };
  }
}
