import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startEventBridgeArchiveFake, type EventBridgeArchiveFake } from '../fakes/eventBridgeArchiveFake.ts';
import { startSqsFake, type SqsFake } from '../fakes/sqsFake.ts';
import { REPO, runMesh, startDev } from './devProcess.ts';

/*
 * The AWS places failures land, through the real CLI and the real SDK clients against
 * wire-level fakes: an SQS dead-letter queue fed by Lambda's on-failure destination, and an
 * EventBridge archive replay followed to its end.
 */

const SLOW = 120_000;
const BUS = 'arn:aws:events:us-east-1:000000000000:event-bus/orders';

let dir: string;
let env: Record<string, string>;
let sqs: SqsFake;
let eb: EventBridgeArchiveFake;
let faultyConfig: string;
let order: Record<string, unknown>;

/** An order event as EventBridge delivers it, with its own id. */
function orderEvent(id: string): Record<string, unknown> {
  return { ...order, id };
}

/** What Lambda's on-failure destination writes when an asynchronous invocation gave up. */
function destinationRecord(event: Record<string, unknown>, errorMessage = 'every allowed endpoint failed'): string {
  return JSON.stringify({
    version: '1.0',
    timestamp: '2026-03-02T09:20:00.000Z',
    requestContext: { requestId: 'req-1', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:nearmesh-on-event:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'ModelsExhaustedError', errorMessage, trace: [] },
  });
}

const json = <T>(text: string): T => JSON.parse(text) as T;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-sources-'));
  sqs = await startSqsFake();
  eb = await startEventBridgeArchiveFake();
  env = {
    MESH_HOME: join(dir, 'home'),
    AWS_ENDPOINT_URL_SQS: sqs.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eb.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret',
    AWS_PROFILE: '',
  };
  order = json(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8'));
  const doc = parse(await readFile(join(REPO, 'mesh.yaml'), 'utf8')) as { models: Array<{ simulated?: Record<string, unknown> }> };
  for (const m of doc.models) m.simulated = { ...m.simulated, latencyMs: 1, faults: { error: 1 } };
  faultyConfig = join(dir, 'mesh.faulty.yaml');
  await writeFile(faultyConfig, stringify(doc));
});

afterAll(async () => {
  await Promise.all([sqs.close(), eb.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('mesh failed --source sqs:', () => {
  it('lists every dead letter in the ledger table shape, deleting none and leaving all visible', async () => {
    // Prepare
    const url = sqs.createQueue('list-dlq');
    sqs.send(url, destinationRecord(orderEvent('11111111-0000-4000-8000-000000000001')));
    sqs.send(url, JSON.stringify(orderEvent('11111111-0000-4000-8000-000000000002')), { ErrorCode: '500', ErrorMessage: 'function timed out' });
    const junk = sqs.send(url, 'not json');
    // Act
    const r = await runMesh(['failed', '--source', `sqs:${url}`, '--json'], env);
    // Assess
    expect(r.code, r.stderr).toBe(0);
    const rows = json<Array<{ messageId: string; eventId?: string; routeIds: string[]; errorCode: string; message: string; attempts?: number; endpoint?: string }>>(r.stdout);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({ eventId: '11111111-0000-4000-8000-000000000001', routeIds: ['order-risk'], errorCode: 'ModelsExhaustedError', attempts: 3, endpoint: 'nearmesh-on-event' });
    expect(rows[1]).toMatchObject({ eventId: '11111111-0000-4000-8000-000000000002', routeIds: ['order-risk'], errorCode: '500', message: 'function timed out' });
    expect(rows[2]).toMatchObject({ messageId: junk, errorCode: 'Unreadable' });
    expect(sqs.calls.filter((c) => c.operation === 'DeleteMessage')).toHaveLength(0);
    expect(sqs.visible(url)).toHaveLength(3);
  }, SLOW);

  it('shows one dead letter with its reason, function and original event', async () => {
    const url = sqs.createQueue('show-dlq');
    const id = sqs.send(url, destinationRecord(orderEvent('11111111-0000-4000-8000-000000000003'), 'sim-bedrock-us-east-1 answered 503'));
    const r = await runMesh(['failed', 'show', `sqs:${url}#${id}`], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/reason: +ModelsExhaustedError: sim-bedrock-us-east-1 answered 503/);
    expect(r.stdout).toMatch(/function: +arn:aws:lambda:.*nearmesh-on-event.* request req-1, invoked 3×/);
    expect(r.stdout).toContain('"orderId": "ORD-2026-104233"');
  }, SLOW);

  it('says clearly when the queue does not exist', async () => {
    const r = await runMesh(['failed', '--source', `sqs:${sqs.url}/000000000000/no-such-queue`], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SourceNotFound: SQS says .*no-such-queue does not exist .*Check the name or URL, the account, and the region/);
  }, SLOW);

  it('refuses a Service Bus source without its namespace and entity, as a usage error', async () => {
    const r = await runMesh(['failed', '--source', 'servicebus:orders'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expected servicebus:<namespace>\/<queue> or servicebus:<namespace>\/<topic>\/Subscriptions\/<subscription>/);
  }, SLOW);
});

describe('mesh replay --source sqs: --target local (through the local mesh, on purpose)', () => {
  let url: string;
  const ids = ['22222222-0000-4000-8000-000000000001', '22222222-0000-4000-8000-000000000002'];

  beforeAll(() => {
    url = sqs.createQueue('replay-dlq');
    for (const id of ids) sqs.send(url, destinationRecord(orderEvent(id)));
  });

  it('leaves a dead letter whose replay fails again in the queue, visible, with the new reason', async () => {
    const r = await runMesh(['replay', '--source', `sqs:${url}`, '--target', 'local', '--all', '--config', faultyConfig, '--actor', 'night-shift', '--json'], env);
    expect(r.code, r.stderr).toBe(1);
    const { outcomes } = json<{ outcomes: Array<{ outcome: string; queue: string; detail: string }> }>(r.stdout);
    expect(outcomes.map((o) => [o.outcome, o.queue])).toEqual([
      ['failed-again', 'left in queue'],
      ['failed-again', 'left in queue'],
    ]);
    expect(outcomes[0]!.detail).toMatch(/^ModelUnavailable: simulated 503/);
    expect(sqs.visible(url)).toHaveLength(2);
    expect(sqs.calls.filter((c) => c.operation === 'DeleteMessage' && String(c.body.QueueUrl) === url)).toHaveLength(0);
    // The next engineer sees what was tried, from the queue as from the ledger.
    const shown = await runMesh(['failed', 'show', `sqs:${url}#${sqs.messages(url)[0]!.messageId}`], env);
    expect(shown.stdout).toMatch(/by night-shift: failed-again — ModelUnavailable: simulated 503/);
  }, SLOW);

  it('replays with faults off: each message deleted after its success, exactly one result per event', async () => {
    const r = await runMesh(['replay', '--source', `sqs:${url}`, '--target', 'local', '--all', '--actor', 'day-shift', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const { outcomes } = json<{ outcomes: Array<{ outcome: string; queue: string }> }>(r.stdout);
    expect(outcomes.map((o) => [o.outcome, o.queue])).toEqual([
      ['succeeded', 'deleted'],
      ['succeeded', 'deleted'],
    ]);
    expect(sqs.messages(url)).toHaveLength(0);
    // Every delete comes after the hold that preceded its replay, one per message.
    const mine = sqs.calls.filter((c) => String(c.body.QueueUrl) === url);
    expect(mine.filter((c) => c.operation === 'DeleteMessage')).toHaveLength(2);

    const results = json<Array<{ envelope: { event: { extensions: { causationid: string } } } }>>((await runMesh(['events', '--kind', 'result', '--json'], env)).stdout);
    const perInput = ids.map((id) => results.filter((x) => x.envelope.event.extensions.causationid === id).length);
    expect(perInput).toEqual([1, 1]);
    const ledger = json<Array<{ eventId: string; status: string }>>((await runMesh(['failed', '--status', 'all', '--json'], env)).stdout);
    expect(ledger.filter((f) => ids.includes(f.eventId)).map((f) => f.status)).toEqual(['resolved', 'resolved']);
  }, SLOW);

  it('deletes a dead letter whose event is already done, without a second result', async () => {
    // Lambda delivered the same failure twice; the first copy was replayed above.
    const copy = sqs.send(url, destinationRecord(orderEvent(ids[0]!)));
    const r = await runMesh(['replay', '--source', `sqs:${url}`, '--target', 'local', copy, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const { outcomes } = json<{ outcomes: Array<{ outcome: string; queue: string }> }>(r.stdout);
    expect(outcomes.map((o) => [o.outcome, o.queue])).toEqual([['already-done', 'deleted']]);
    const results = json<Array<{ envelope: { event: { extensions: { causationid: string } } } }>>((await runMesh(['events', '--kind', 'result', '--json'], env)).stdout);
    expect(results.filter((x) => x.envelope.event.extensions.causationid === ids[0]).length).toBe(1);
  }, SLOW);

  it('replays through a running mesh dev, whose ledger then holds the replay', async () => {
    // Prepare: a second store with mesh dev holding it
    const q = sqs.createQueue('dev-dlq');
    const eventId = '33333333-0000-4000-8000-000000000001';
    sqs.send(q, destinationRecord(orderEvent(eventId)));
    const dev = await startDev(['--skip-samples'], { ...env, MESH_HOME: join(dir, 'dev-home') });
    try {
      const devEnv = { ...env, MESH_HOME: dev.home };
      // Act
      const r = await runMesh(['replay', '--source', `sqs:${q}`, '--target', 'local', '--all', '--actor', 'dev-shift', '--json'], devEnv);
      // Assess
      expect(r.code, r.stderr).toBe(0);
      const { outcomes } = json<{ outcomes: Array<{ outcome: string; queue: string }> }>(r.stdout);
      expect(outcomes.map((o) => [o.outcome, o.queue])).toEqual([['succeeded', 'deleted']]);
      const ledger = json<Array<{ id: string; eventId: string; status: string }>>((await runMesh(['failed', '--status', 'all', '--json'], devEnv)).stdout);
      const record = ledger.find((f) => f.eventId === eventId);
      expect(record?.status).toBe('resolved');
      expect((await runMesh(['failed', 'show', record!.id], devEnv)).stdout).toMatch(/by dev-shift: succeeded/);
    } finally {
      await dev.dispose();
    }
  }, SLOW);

  it('dry run changes nothing: no ledger write, no delete, every message visible again', async () => {
    const q = sqs.createQueue('dry-dlq');
    sqs.send(q, destinationRecord(orderEvent('33333333-0000-4000-8000-000000000001')));
    const r = await runMesh(['replay', '--source', `sqs:${q}`, '--target', 'local', '--all', '--dry-run', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const { outcomes } = json<{ outcomes: Array<{ outcome: string; endpoint: string }> }>(r.stdout);
    expect(outcomes.map((o) => o.outcome)).toEqual(['would-replay']);
    expect(sqs.visible(q)).toHaveLength(1);
    const ledger = json<Array<{ eventId: string }>>((await runMesh(['failed', '--status', 'all', '--json'], env)).stdout);
    expect(ledger.some((f) => f.eventId === '33333333-0000-4000-8000-000000000001')).toBe(false);
  }, SLOW);
});

describe('mesh replay --source archive:', () => {
  const window = ['--since', '2026-03-02T09:00:00Z', '--until', '2026-03-02T10:00:00Z'];

  it('dry run prints the StartReplay request and starts nothing', async () => {
    eb.addArchive('orders-archive', BUS);
    const r = await runMesh(['replay', '--source', 'archive:orders-archive', ...window, '--rules', 'arn:aws:events:us-east-1:000000000000:rule/orders/risk', '--dry-run', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ startReplay: unknown }>(r.stdout).startReplay).toMatchObject({
      EventSourceArn: 'arn:aws:events:us-east-1:000000000000:archive/orders-archive',
      EventStartTime: '2026-03-02T09:00:00.000Z',
      EventEndTime: '2026-03-02T10:00:00.000Z',
      Destination: { Arn: BUS, FilterArns: ['arn:aws:events:us-east-1:000000000000:rule/orders/risk'] },
    });
    expect(eb.calls.some((c) => c.operation === 'StartReplay')).toBe(false);
  }, SLOW);

  it('--route sends the replay to that route rule only (the deployment names it <service>-<stage>-<route>)', async () => {
    eb.addArchive('orders-archive', BUS);
    const r = await runMesh(['replay', '--source', 'archive:orders-archive', ...window, '--route', 'order-risk', '--rule-prefix', 'nearmesh-prod', '--dry-run', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ startReplay: { Destination: unknown } }>(r.stdout).startReplay.Destination).toEqual({ Arn: BUS, FilterArns: ['arn:aws:events:us-east-1:000000000000:rule/orders/nearmesh-prod-order-risk'] });
    const missing = await runMesh(['replay', '--source', 'archive:orders-archive', ...window, '--route', 'order-risk', '--dry-run'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--rule-prefix <service>-<stage>/);
  }, SLOW);

  it('starts the replay for the window and follows it to COMPLETED', async () => {
    eb.addArchive('orders-archive', BUS);
    eb.script([{ State: 'STARTING' }, { State: 'RUNNING', EventLastReplayedTime: Date.parse('2026-03-02T09:30:00Z') / 1000 }, { State: 'COMPLETED' }]);
    const r = await runMesh(['replay', '--source', 'archive:orders-archive', ...window, '--poll', '0.05'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/RUNNING, replayed up to 2026-03-02T09:30:00.000Z/);
    expect(r.stdout).toMatch(/Replay mesh-orders-archive-\S+ COMPLETED\./);
    const start = eb.calls.find((c) => c.operation === 'StartReplay')!;
    expect(start.body).toMatchObject({ EventStartTime: Date.parse('2026-03-02T09:00:00Z') / 1000, EventEndTime: Date.parse('2026-03-02T10:00:00Z') / 1000, Destination: { Arn: BUS } });
  }, SLOW);

  it('exits 1 with the reason when the replay fails', async () => {
    const arn = eb.addArchive('orders-archive', BUS);
    eb.script([{ State: 'STARTING' }, { State: 'FAILED', StateReason: 'The destination event bus was deleted.' }]);
    const r = await runMesh(['replay', '--source', `archive:${arn}`, ...window, '--destination', BUS, '--poll', '0.05'], env);
    expect(r.stdout, r.stderr).toMatch(/FAILED: The destination event bus was deleted\./);
    expect(r.code).toBe(1);
  }, SLOW);
});
