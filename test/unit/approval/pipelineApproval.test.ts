import { beforeEach, describe, expect, it } from 'vitest';
import {
  APPROVAL_EVENT_TYPE,
  ApprovalConflictError,
  ConfigError,
  Pipeline,
  pendingApprovalId,
  resultId,
  type Envelope,
  type Route,
  type Store,
} from '../../../shared/core/index.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';
import { config, fakePlacer, orderEvent, RecordingPublisher, route } from '../pipeline/fixtures.ts';

/* A route with `approval: required` holds its result until a human decides. */

let clock: FakeClock;
let store: Store;
let publisher: RecordingPublisher;

beforeEach(() => {
  clock = new FakeClock();
  store = createMemoryStore({ clock });
  publisher = new RecordingPublisher();
});

const held = (overrides: Partial<Route> = {}) => route({ approval: 'required', emit: { source: 'nearmesh.order-risk', detailType: 'OrderRiskScored', to: ['audit'] }, ...overrides });

function pipelineWith(scripts: Record<string, Step[]>, routes: Route[] = [held()], storeOverride: Store = store, source?: string) {
  const provider = new ScriptedProvider(scripts);
  const pipeline = new Pipeline({
    config: { ...config(), ...(source ? { approvals: { source } } : {}) },
    routes,
    matcher: { matches: (e) => routes.filter((r) => (e as { source: string }).source === (r.match.source as string[])[0]).map((r) => r.id) },
    placer: fakePlacer,
    providers: { get: () => provider },
    publisher,
    store: storeOverride,
    summarizePlacement: (d) => `summary of ${d.routeId}`,
    clock,
    random: () => 0.5,
  });
  return { pipeline, provider };
}

function approvalEvent(data: Record<string, unknown>, source = 'nearmesh.approvals', id = 'appr-1'): Envelope {
  return {
    event: { specversion: '1.0', id, source, type: APPROVAL_EVENT_TYPE, data, extensions: {} },
    origin: { transport: 'eventbridge', cloud: 'aws', region: 'us-east-1', bus: 'orders' },
  };
}

const types = () => publisher.published.map((p) => p.envelope.event.type);

describe('a route that requires approval', () => {
  it('holds its result and publishes <detailType>.PendingApproval with the result id and no model output', async () => {
    // Prepare
    const { pipeline } = pipelineWith({ near: [{ output: { score: 87 } }] });
    // Act
    const outcome = await pipeline.process(orderEvent('e-1'));
    // Assess
    const id = resultId('order-risk', 'e-1');
    expect(outcome.routes[0]).toMatchObject({ status: 'pending-approval', resultId: id, destinations: ['audit'] });
    expect(outcome.routes[0]).not.toHaveProperty('result');
    expect(types()).toEqual(['OrderRiskScored.PendingApproval']);
    const pending = publisher.published[0]!.envelope.event;
    expect(pending).toMatchObject({ id: pendingApprovalId(id), source: 'nearmesh.order-risk', subject: id });
    expect(pending.data).toMatchObject({ resultId: id, route: 'order-risk', inputId: 'e-1', summary: { endpoint: 'near' } });
    expect(JSON.stringify(pending.data)).not.toContain('87');
    expect(await store.approvals!.get(id)).toMatchObject({ status: 'pending', routeId: 'order-risk', inputId: 'e-1', result: { event: { id, data: { result: { score: 87 } } } } });
  });

  it('shows the model output in the pending event when the route says so', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 87 } }] }, [held({ approvalShowsOutput: true })]);
    await pipeline.process(orderEvent('e-1'));
    expect(publisher.published[0]!.envelope.event.data).toMatchObject({ output: { score: 87 } });
  });

  it('completes the claim with the result id: a second delivery of the input creates no second pending record nor model call', async () => {
    const { pipeline, provider } = pipelineWith({ near: [{ output: { score: 1 } }, { output: { score: 2 } }] });
    await pipeline.process(orderEvent('e-1'));
    const again = await pipeline.process(orderEvent('e-1'));
    expect(again.routes[0]).toMatchObject({ status: 'duplicate', resultId: resultId('order-risk', 'e-1') });
    expect(provider.calls).toHaveLength(1);
    expect(await store.approvals!.list()).toHaveLength(1);
    expect(types()).toEqual(['OrderRiskScored.PendingApproval']);
  });

  it('publishes the held result, exactly as stored, on approve, once even when approved twice at the same time', async () => {
    // Prepare
    const { pipeline } = pipelineWith({ near: [{ output: { score: 87 } }] });
    await pipeline.process(orderEvent('e-1'));
    const id = resultId('order-risk', 'e-1');
    const stored = (await store.approvals!.get(id))!.result;
    clock.advance(60_000);
    // Act
    const [a, b] = await Promise.all([pipeline.approvals!.approve(id, 'ana'), pipeline.approvals!.approve(id, 'bo')]);
    const third = await pipeline.approvals!.approve(id, 'cy');
    // Assess
    expect([a.kind, b.kind].sort()).toEqual(['already-decided', 'approved']);
    expect(types()).toEqual(['OrderRiskScored.PendingApproval', 'OrderRiskScored']);
    expect(publisher.published[1]!.envelope).toEqual(stored);
    expect(publisher.published[1]!.destination.name).toBe('audit');
    const winner = a.kind === 'approved' ? 'ana' : 'bo';
    expect(third).toMatchObject({ kind: 'already-decided', message: `result ${id} was already approved at ${clock.now().toISOString()} by ${winner}; nothing published` });
    expect(await store.approvals!.get(id)).toMatchObject({ status: 'approved', actor: winner, decidedAt: clock.now().toISOString() });
  });

  it('records a rejection with its reason, publishes nothing, and refuses to approve it afterwards', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 87 } }] });
    await pipeline.process(orderEvent('e-1'));
    const id = resultId('order-risk', 'e-1');

    const rejected = await pipeline.approvals!.reject(id, 'ana', 'score looks wrong');
    const approving = pipeline.approvals!.approve(id, 'bo');

    expect(rejected).toMatchObject({ kind: 'rejected', record: { status: 'rejected', actor: 'ana', reason: 'score looks wrong' } });
    await expect(approving).rejects.toThrow(ApprovalConflictError);
    await expect(approving).rejects.toThrow(`cannot approve result ${id}: it was rejected at ${clock.now().toISOString()} by ana (reason: score looks wrong)`);
    expect(types()).toEqual(['OrderRiskScored.PendingApproval']);
  });

  it('puts the record back to pending when publishing the approved result fails, so the approval can be made again', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 87 } }] });
    await pipeline.process(orderEvent('e-1'));
    const id = resultId('order-risk', 'e-1');
    publisher.failNext = 1;

    await expect(pipeline.approvals!.approve(id, 'ana')).rejects.toMatchObject({ code: 'PublishFailed', retryable: true });
    expect(await store.approvals!.get(id)).toMatchObject({ status: 'pending' });
    expect(await pipeline.approvals!.approve(id, 'ana')).toMatchObject({ kind: 'approved' });
    expect(types()).toEqual(['OrderRiskScored.PendingApproval', 'OrderRiskScored']);
  });

  it('refuses to start on a store that keeps no held results, naming the route file', () => {
    const { approvals: _none, ...bare } = createMemoryStore({ clock });
    expect(() => pipelineWith({}, [held()], bare)).toThrow(ConfigError);
    expect(() => pipelineWith({}, [held()], bare)).toThrow(/events\/routes\/order-risk\.yaml.*route order-risk requires approval/);
  });

  it('publishes at once when the route does not require approval', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 3 } }] }, [route()]);
    const outcome = await pipeline.process(orderEvent('e-1'));
    expect(outcome.routes[0]!.status).toBe('emitted');
    expect(await store.approvals!.list()).toEqual([]);
  });
});

describe('approval events', () => {
  it('approve a held result once, however often the event arrives', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 87 } }] });
    await pipeline.process(orderEvent('e-1'));
    const id = resultId('order-risk', 'e-1');

    const first = await pipeline.process(approvalEvent({ resultId: id, decision: 'approve', actor: 'ops@acme' }));
    const second = await pipeline.process(approvalEvent({ resultId: id, decision: 'approve', actor: 'ops@acme' }, 'nearmesh.approvals', 'appr-2'));

    expect(first.routes).toEqual([expect.objectContaining({ routeId: 'order-risk', status: 'approved', resultId: id, destinations: ['audit'] })]);
    expect(second.routes).toEqual([expect.objectContaining({ routeId: 'order-risk', status: 'duplicate', resultId: id })]);
    expect(types()).toEqual(['OrderRiskScored.PendingApproval', 'OrderRiskScored']);
  });

  it('reject with the reason', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 87 } }] });
    await pipeline.process(orderEvent('e-1'));
    const id = resultId('order-risk', 'e-1');

    const outcome = await pipeline.process(approvalEvent({ resultId: id, decision: 'reject', actor: 'ops@acme', reason: 'customer cancelled' }));

    expect(outcome.routes[0]).toMatchObject({ status: 'rejected', resultId: id });
    expect(await store.approvals!.get(id)).toMatchObject({ status: 'rejected', actor: 'ops@acme', reason: 'customer cancelled' });
    expect(types()).toEqual(['OrderRiskScored.PendingApproval']);
  });

  it('are refused from any source but the configured one, and when malformed or unknown, without retry', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 87 } }] }, [held()], store, 'com.acme.approvals');
    await pipeline.process(orderEvent('e-1'));
    const id = resultId('order-risk', 'e-1');

    const wrongSource = await pipeline.process(approvalEvent({ resultId: id, decision: 'approve', actor: 'x' }, 'nearmesh.approvals'));
    const noReason = await pipeline.process(approvalEvent({ resultId: id, decision: 'reject', actor: 'x' }, 'com.acme.approvals'));
    const unknown = await pipeline.process(approvalEvent({ resultId: 'nope', decision: 'approve', actor: 'x' }, 'com.acme.approvals'));

    expect(wrongSource.routes[0]!.error).toMatchObject({ code: 'ApprovalSourceRefused', retryable: false });
    expect(wrongSource.routes[0]!.error!.message).toMatch(/accepted only from "com.acme.approvals"/);
    expect(noReason.routes[0]!.error).toMatchObject({ code: 'InvalidEvent', retryable: false });
    expect(noReason.routes[0]!.error!.message).toMatch(/data\.reason: a rejection needs a reason/);
    expect(unknown.routes[0]!.error).toMatchObject({ code: 'ApprovalNotFound', retryable: false });
    expect(await store.approvals!.get(id)).toMatchObject({ status: 'pending' });
    expect(types()).toEqual(['OrderRiskScored.PendingApproval']);
  });

  it('report a failed publish as retryable, so the transport delivers the approval again', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 87 } }] });
    await pipeline.process(orderEvent('e-1'));
    const id = resultId('order-risk', 'e-1');
    publisher.failNext = 1;

    const failed = await pipeline.process(approvalEvent({ resultId: id, decision: 'approve', actor: 'ops' }));
    const retried = await pipeline.process(approvalEvent({ resultId: id, decision: 'approve', actor: 'ops' }));

    expect(failed.routes[0]).toMatchObject({ status: 'failed', error: expect.objectContaining({ code: 'PublishFailed', retryable: true }) });
    expect(retried.routes[0]).toMatchObject({ status: 'approved' });
    expect(types()).toEqual(['OrderRiskScored.PendingApproval', 'OrderRiskScored']);
  });
});

describe('holding again after a failed announcement', () => {
  it('keeps the first held result and announces it on the retry, with the same event id', async () => {
    const { pipeline, provider } = pipelineWith({ near: [{ output: { score: 1 } }, { output: { score: 2 } }] });
    publisher.failNext = 1;

    const failed = await pipeline.process(orderEvent('e-1'));
    const retried = await pipeline.process(orderEvent('e-1'));

    const id = resultId('order-risk', 'e-1');
    expect(failed.routes[0]).toMatchObject({ status: 'failed', error: expect.objectContaining({ code: 'PublishFailed' }) });
    expect(retried.routes[0]).toMatchObject({ status: 'pending-approval', resultId: id });
    expect(provider.calls).toHaveLength(2);
    expect(publisher.published.map((p) => p.envelope.event.id)).toEqual([pendingApprovalId(id)]);
    expect((await store.approvals!.get(id))!.result.event.data).toMatchObject({ result: { score: 1 } });
  });

  it('does not announce a result decided meanwhile', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 1 } }, { output: { score: 2 } }] });
    publisher.failNext = 1;
    await pipeline.process(orderEvent('e-1'));
    const id = resultId('order-risk', 'e-1');
    await pipeline.approvals!.reject(id, 'ana', 'seen in mesh approvals, wrong');

    const retried = await pipeline.process(orderEvent('e-1'));

    expect(retried.routes[0]).toMatchObject({ status: 'pending-approval', resultId: id });
    expect(publisher.published).toEqual([]);
  });
});
