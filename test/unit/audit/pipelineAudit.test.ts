import { describe, expect, it } from 'vitest';
import { jsonLogger, ModelRequestError, ModelThrottledError, Pipeline, type Route } from '../../../shared/core/index.ts';
import { AUDIT_MARKER, type AuditEntry, type AuditLog } from '../../../shared/core/ports/AuditLog.ts';
import { createPlacer, summarizePlacement } from '../../../shared/placement/index.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { logAuditLog } from '../../../shared/store/logAuditLog.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';
import { config, envelope, route } from '../placement/fixtures.ts';

/* The invoke step gives the audit log one record per model invocation attempt, and nothing of the event. */

const SECRET = 'Customer Jane Roe, card 4111 1111 1111 1111';

function mesh(scripts: Record<string, Step[]>, r: Route, audit?: AuditLog) {
  const clock = new FakeClock();
  const store = createMemoryStore({ clock });
  const provider = new ScriptedProvider(scripts);
  const lines: string[] = [];
  const pipeline = new Pipeline({
    config: config(),
    routes: [r],
    matcher: { matches: () => [r.id] },
    placer: createPlacer(config()),
    providers: { get: () => provider },
    publisher: { publish: async (_d, events) => events.map((e) => ({ id: e.event.id, ok: true as const })) },
    store,
    summarizePlacement,
    clock,
    logger: jsonLogger({ level: 'debug', write: (line) => lines.push(line) }),
    random: () => 0,
    audit: audit ?? store.audit,
  });
  const secretEvent = envelope({}, {}, { orderId: 'A-1', note: SECRET });
  return { store, provider, pipeline, lines, secretEvent };
}

describe('the audit of model invocations', () => {
  it('records every attempt in order: the throttled one, the failover, the answer — with tokens and cost only where the model answered', async () => {
    // Prepare: internal US data; the nearest endpoint throttles twice, the next one answers
    const throttled: Step = { error: new ModelThrottledError('slow down', { retryAfterMs: 0 }) };
    const r = { ...route({ classification: 'internal' }), task: { ...route().task, attemptsPerEndpoint: 2 } };
    const { store, pipeline, secretEvent } = mesh({ 'sim-bedrock-us-east-1': [throttled], 'sim-azure-eastus': [{ output: { ok: true } }] }, r);
    // Act
    const outcome = await pipeline.process(secretEvent);
    // Assess
    expect(outcome.routes[0]).toMatchObject({ status: 'emitted', endpoint: 'sim-azure-eastus' });
    const trail = (await store.audit.listAudit()).reverse();
    expect(trail.map((e) => [e.endpoint, e.attempt, e.outcome, e.errorCode])).toEqual([
      ['sim-bedrock-us-east-1', 1, 'error', 'ModelThrottled'],
      ['sim-bedrock-us-east-1', 2, 'error', 'ModelThrottled'],
      ['sim-azure-eastus', 1, 'ok', null],
    ]);
    expect(trail[2]).toEqual<AuditEntry>({
      at: '2026-11-22T08:00:00.000Z',
      routeId: 'order-risk',
      eventId: 'e-1',
      endpoint: 'sim-azure-eastus',
      provider: 'simulated',
      model: 'm',
      cloud: 'azure',
      region: 'eastus',
      attempt: 1,
      dataLocation: 'aws:us-east-1',
      dataLocationSource: 'origin',
      classification: 'internal',
      tokens: { input: 100, output: 20 },
      costUsd: 0.000072,
      outcome: 'ok',
      errorCode: null,
      latencyMs: 42,
    });
    expect(trail[0]).toMatchObject({ tokens: null, costUsd: null });
    // the sum of the audit is what the result's provenance says it cost
    const provenance = (outcome.routes[0]!.result!.event.data as { provenance: { costUsd: number } }).provenance;
    expect(trail.reduce((sum, e) => sum + (e.costUsd ?? 0), 0)).toBe(provenance.costUsd);
  });

  it('keeps no event content, no prompt and no answer', async () => {
    const { store, pipeline, secretEvent } = mesh({ 'sim-bedrock-us-east-1': [{ output: { ok: true, echo: SECRET } }] }, route({ classification: 'internal' }));
    await pipeline.process(secretEvent);
    const text = JSON.stringify(await store.audit.listAudit());
    expect(text).not.toContain('Jane Roe');
    expect(text).not.toContain('4111');
    expect(text).not.toContain('Score');
    expect(text).not.toContain('echo');
  });

  it('records the tokens of an answer that failed its schema, and the route that had no endpoint records nothing', async () => {
    const r: Route = { ...route({ classification: 'internal' }), task: { ...route().task, validateOutput: (o) => ((o as { ok?: unknown }).ok === true ? [] : ['ok: required']) } };
    const { store, pipeline } = mesh({ 'sim-bedrock-us-east-1': [{ output: { nope: 1 } }], 'sim-azure-eastus': [{ output: { ok: true } }] }, r);
    await pipeline.process(envelope());
    const [first] = (await store.audit.listAudit()).reverse();
    expect(first).toMatchObject({ endpoint: 'sim-bedrock-us-east-1', outcome: 'error', errorCode: 'ModelOutputInvalid', tokens: { input: 100, output: 20 } });

    const forbidden = mesh({}, route({ classification: 'pii', location: 'aws:ap-south-1' }));
    const outcome = await forbidden.pipeline.process(envelope());
    expect(outcome.routes[0]?.error?.code).toBe('PolicyViolation');
    expect(await forbidden.store.audit.listAudit()).toEqual([]);
  });

  it('names the route as the data location’s source when the route overrides an event’s claim', async () => {
    const { store, pipeline } = mesh({ 'sim-bedrock-us-east-1': [{ output: { ok: true } }] }, route({ classification: 'pii', location: 'aws:us-east-1' }));
    await pipeline.process(envelope({ datalocation: 'azure:westeurope' }));
    expect(await store.audit.listAudit()).toEqual([expect.objectContaining({ dataLocation: 'aws:us-east-1', dataLocationSource: 'route', classification: 'pii' })]);
  });

  it('still emits the result when the audit log fails, and logs the record it could not keep', async () => {
    const broken: AuditLog = { record: () => Promise.reject(new Error('disk full')) };
    const { pipeline, lines } = mesh({ 'sim-bedrock-us-east-1': [{ output: { ok: true } }] }, route({ classification: 'internal' }), broken);
    const outcome = await pipeline.process(envelope());
    expect(outcome.routes[0]?.status).toBe('emitted');
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'audit record could not be kept');
    expect(logged).toMatchObject({ level: 'error', routeId: 'order-risk', eventId: 'e-1', endpoint: 'sim-bedrock-us-east-1', outcome: 'ok', auditError: 'disk full' });
  });

  it('writes one structured line per attempt with the marker through a logger', async () => {
    const lines: string[] = [];
    const audit = logAuditLog(jsonLogger({ level: 'info', write: (line) => lines.push(line) }));
    const rejected: Step = { error: new ModelRequestError('bad request') };
    const { pipeline, secretEvent } = mesh({ 'sim-bedrock-us-east-1': [rejected], 'sim-azure-eastus': [{ output: { ok: true } }] }, route({ classification: 'internal' }), audit);
    await pipeline.process(secretEvent);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toEqual([
      expect.objectContaining({ audit: AUDIT_MARKER, message: 'model invocation', endpoint: 'sim-bedrock-us-east-1', outcome: 'error', errorCode: 'ModelRequestRejected' }),
      expect.objectContaining({ audit: AUDIT_MARKER, endpoint: 'sim-azure-eastus', outcome: 'ok' }),
    ]);
    expect(lines.join('\n')).not.toContain('Jane Roe');
  });
});
