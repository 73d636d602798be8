import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDbFake, type DynamoDbFake } from '../fakes/dynamoDbFake.ts';
import { startEventBridgeFake, type EventBridgeFake } from '../fakes/eventBridgeFake.ts';
import { startSqsFake, type SqsFake } from '../fakes/sqsFake.ts';
import { awsDeploymentEnv, lambdaFailureRecord } from '../fakes/awsDeployment.ts';
import { REPO, runMesh } from './devProcess.ts';

/*
 * `mesh replay --source sqs:` replays a Lambda dead letter in AWS, through the real CLI and
 * the real SDK clients against wire fakes: the result goes out with PutEvents to the route's
 * destination, the claim is the deployment's DynamoDB item, and a message leaves its queue
 * only after its result is out (or the claim says the route is done).
 */

const SLOW = 60_000;
const TABLE = 'nearmesh-idem';

let dir: string;
let env: Record<string, string>;
let sqs: SqsFake;
let events: EventBridgeFake;
let dynamo: DynamoDbFake;
let order: Record<string, unknown>;

interface Outcome {
  messageId: string;
  eventId?: string;
  routeId?: string;
  outcome: string;
  queue: string;
  detail: string;
}

const json = <T>(text: string): T => JSON.parse(text) as T;

/** The on-failure record of a rule delivery `{ meshRoute, event }` that Lambda gave up on. */
function destinationRecord(eventId: string, routeId = 'order-risk'): string {
  return lambdaFailureRecord({ ...order, id: eventId }, { routeId });
}

/** Results PutEvents accepted for one input event (the result's data carries its lineage). */
function resultsFor(eventId: string): number {
  return events.accepted.filter((e) => e.DetailType === 'OrderRiskScored' && e.Detail.includes(eventId)).length;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-cloud-replay-'));
  [sqs, events, dynamo] = await Promise.all([startSqsFake(), startEventBridgeFake(), startDynamoDbFake()]);
  dynamo.createTable(TABLE);
  env = awsDeploymentEnv({ sqs, events, dynamo }, join(dir, 'home'), TABLE);
  order = json(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8'));
});

afterAll(async () => {
  await Promise.all([sqs?.close(), events?.close(), dynamo?.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('mesh replay --source sqs: runs the route in AWS', () => {
  it('refuses to start without the deployment settings, naming the variable and --target local', async () => {
    const url = sqs.createQueue('no-settings-dlq');
    sqs.send(url, destinationRecord('44444444-0000-4000-8000-000000000009'));
    const r = await runMesh(['replay', '--source', `sqs:${url}`, '--all'], { ...env, MESH_IDEMPOTENCY_TABLE: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/MESH_IDEMPOTENCY_TABLE is not set.*--target local/s);
    expect(sqs.calls.some((c) => String(c.body.QueueUrl) === url && c.operation === 'ReceiveMessage')).toBe(false);
  }, SLOW);

  it('keeps the message, prints the new reason, records it and exits 1 when PutEvents refuses the result', async () => {
    // Prepare
    const url = sqs.createQueue('refused-dlq');
    const eventId = '44444444-0000-4000-8000-000000000001';
    const messageId = sqs.send(url, destinationRecord(eventId));
    events.script({ status: 400, type: 'AccessDeniedException', message: 'not authorized to perform events:PutEvents' });
    // Act
    const r = await runMesh(['replay', '--source', `sqs:${url}`, '--all', '--actor', 'night-shift'], env);
    // Assess
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/failed again/);
    expect(r.stdout).toMatch(/not authorized to perform events:PutEvents/);
    expect(sqs.visible(url).map((m) => m.messageId)).toEqual([messageId]);
    expect(sqs.calls.filter((c) => c.operation === 'DeleteMessage' && String(c.body.QueueUrl) === url)).toHaveLength(0);
    expect(resultsFor(eventId)).toBe(0);
    // The claim is released in the deployment's table: the next replay can take it.
    const shown = await runMesh(['failed', 'show', `sqs:${url}#${messageId}`], env);
    expect(shown.stdout).toMatch(/by night-shift: failed-again — PublishRejected: .*not authorized/);
  }, SLOW);

  it('keeps the message and exits 1 when the claim table cannot be used (it does not exist)', async () => {
    const url = sqs.createQueue('claims-down-dlq');
    const eventId = '44444444-0000-4000-8000-000000000002';
    sqs.send(url, destinationRecord(eventId));
    const r = await runMesh(['replay', '--source', `sqs:${url}`, '--all', '--json'], { ...env, MESH_IDEMPOTENCY_TABLE: 'no-such-table' });
    expect(r.code, r.stderr).toBe(1);
    const { outcomes } = json<{ outcomes: Outcome[] }>(r.stdout);
    expect(outcomes.map((o) => [o.outcome, o.queue])).toEqual([['failed-again', 'left in queue']]);
    expect(outcomes[0]!.detail).toMatch(/no-such-table|ResourceNotFound/);
    expect(sqs.visible(url)).toHaveLength(1);
    expect(resultsFor(eventId)).toBe(0);
  }, SLOW);

  it('publishes the result to the route destination, claims it in DynamoDB, then deletes the message; a second copy is already done', async () => {
    // Prepare
    const url = sqs.createQueue('replay-dlq');
    const eventId = '44444444-0000-4000-8000-000000000003';
    sqs.send(url, destinationRecord(eventId));
    // Act
    const first = await runMesh(['replay', '--source', `sqs:${url}`, '--all', '--actor', 'day-shift', '--json'], env);
    // Assess: the result is on the bus the route names, the claim completed in the table
    expect(first.code, first.stderr).toBe(0);
    expect(json<{ outcomes: Outcome[] }>(first.stdout).outcomes.map((o) => [o.routeId, o.outcome, o.queue])).toEqual([['order-risk', 'succeeded', 'deleted']]);
    expect(resultsFor(eventId)).toBe(1);
    expect(events.accepted.find((e) => e.Detail.includes(eventId))?.EventBusName).toBe('acme-orders');
    const claims = dynamo.items(TABLE);
    expect(claims).toHaveLength(1);
    expect(JSON.stringify(claims[0])).toMatch(/COMPLETED/);
    expect(sqs.messages(url)).toHaveLength(0);
    // Nothing ran through the local mesh
    const local = json<unknown[]>((await runMesh(['events', '--kind', 'result', '--json'], env)).stdout);
    expect(local).toHaveLength(0);

    // Act again: Lambda delivered the same failure twice
    sqs.send(url, destinationRecord(eventId));
    const second = await runMesh(['replay', '--source', `sqs:${url}`, '--all', '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(json<{ outcomes: Outcome[] }>(second.stdout).outcomes.map((o) => [o.outcome, o.queue])).toEqual([['already-done', 'deleted']]);
    expect(resultsFor(eventId)).toBe(1);
    expect(sqs.messages(url)).toHaveLength(0);
  }, SLOW);
});

describe('mesh replay --route', () => {
  it('runs only the named route of a dead letter whose event goes to two routes, and keeps the message for the other', async () => {
    // Prepare: a second route on the same orders (its own result type), and a raw event's dead letter
    const routes = join(dir, 'routes');
    await mkdir(join(dir, 'schemas'), { recursive: true });
    await mkdir(routes, { recursive: true });
    await copyFile(join(REPO, 'events/schemas/order-risk.output.json'), join(dir, 'schemas/order-risk.output.json'));
    const original = await readFile(join(REPO, 'events/routes/order-risk.yaml'), 'utf8');
    await writeFile(join(routes, 'order-risk.yaml'), original);
    await writeFile(join(routes, 'order-audit.yaml'), original.replace('id: order-risk', 'id: order-audit').replace('detailType: OrderRiskScored', 'detailType: OrderAudited'));
    const url = sqs.createQueue('per-route-dlq');
    const eventId = '44444444-0000-4000-8000-000000000005';
    sqs.send(url, JSON.stringify({ ...order, id: eventId }), { ErrorCode: '500', ErrorMessage: 'function timed out' });
    // Act
    const r = await runMesh(['replay', '--source', `sqs:${url}`, '--route', 'order-audit', '--routes', routes, '--json'], env);
    // Assess: one route ran, one result; the message stays for order-risk
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ outcomes: Outcome[] }>(r.stdout).outcomes.map((o) => [o.routeId, o.outcome, o.queue])).toEqual([['order-audit', 'succeeded', 'left in queue']]);
    expect(r.stderr).toMatch(/also goes to route order-risk, not replayed \(--route order-audit\)/);
    expect(events.accepted.filter((e) => e.Detail.includes(eventId)).map((e) => e.DetailType)).toEqual(['OrderAudited']);
    expect(sqs.visible(url)).toHaveLength(1);

    // Then all its routes: order-audit is already done, order-risk runs, the message goes
    const all = await runMesh(['replay', '--source', `sqs:${url}`, '--all', '--routes', routes, '--json'], env);
    expect(all.code, all.stderr).toBe(0);
    expect(json<{ outcomes: Outcome[] }>(all.stdout).outcomes.map((o) => [o.routeId, o.outcome, o.queue]).sort()).toEqual([
      ['order-audit', 'already-done', 'deleted'],
      ['order-risk', 'succeeded', 'deleted'],
    ]);
    expect(events.accepted.filter((e) => e.Detail.includes(eventId)).map((e) => e.DetailType).sort()).toEqual(['OrderAudited', 'OrderRiskScored']);
    expect(sqs.messages(url)).toHaveLength(0);
  }, SLOW);
});
