import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultId } from '../../shared/core/index.ts';
import { REPO, runMesh, startDev, type DevProcess } from './devProcess.ts';

/*
 * Approval as a user meets it: mesh dev holds order-risk's results (approval: required) and
 * announces them; mesh approvals / approve / reject decide through its admin API, an approval
 * event decides through PutEvents, and once mesh dev has stopped the same commands work on
 * the embedded store.
 */

let dev: DevProcess;
let root = '';
let env: Record<string, string> = {};
let client: EventBridgeClient;

interface LoggedEvent {
  kind: string;
  type: string;
  eventId: string;
  envelope: { event: { data: Record<string, unknown> } };
}
interface Held {
  resultId: string;
  routeId: string;
  inputId: string;
  status: string;
  actor?: string;
  reason?: string;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nearmesh-approval-e2e-'));
  await mkdir(join(root, 'routes'));
  await cp(join(REPO, 'events', 'schemas'), join(root, 'schemas'), { recursive: true });
  const route = await readFile(join(REPO, 'events', 'routes', 'order-risk.yaml'), 'utf8');
  await writeFile(join(root, 'routes', 'order-risk.yaml'), `${route}\napproval: required\n`);
  env = { MESH_ROUTES_DIR: join(root, 'routes'), MESH_HOME: join(root, 'home') };
  dev = await startDev(['--skip-samples'], env);
  client = new EventBridgeClient({ endpoint: dev.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await dev?.dispose();
  await rm(root, { recursive: true, force: true });
});

const mesh = (...args: string[]) => runMesh(args, env);
const sample = async () => (JSON.parse(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8')) as { detail: Record<string, unknown> }).detail;

async function placeOrder(orderId: string): Promise<string> {
  const sent = await client.send(new PutEventsCommand({ Entries: [{ Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify({ ...(await sample()), orderId }) }] }));
  return resultId('order-risk', sent.Entries![0]!.EventId!);
}

async function results(): Promise<LoggedEvent[]> {
  const r = await mesh('events', '--kind', 'result', '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as LoggedEvent[];
}

describe('approval through mesh dev and the CLI', () => {
  let first = '';
  let third = '';

  it('holds the result of a route that requires approval and announces it with the result id, without the score', async () => {
    first = await placeOrder('ORD-APPROVE-1');

    const logged = await results();
    const listed = await mesh('approvals', '--json');

    expect(logged.map((e) => e.type)).toEqual(['OrderRiskScored.PendingApproval']);
    expect(logged[0]!.envelope.event.data).toMatchObject({ resultId: first, route: 'order-risk' });
    expect(logged[0]!.envelope.event.data).not.toHaveProperty('output');
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as Held[]).map((h) => [h.resultId, h.status])).toEqual([[first, 'pending']]);
    expect(dev.output()).toContain(`held for approval`);
  });

  it('publishes it once when two people approve at the same time; a third approval says when and by whom', async () => {
    const [a, b] = await Promise.all([mesh('approve', first, '--actor', 'ana'), mesh('approve', first, '--actor', 'bo')]);
    const third = await mesh('approve', first, '--actor', 'cy', '--json');

    expect([a.code, b.code]).toEqual([0, 0]);
    const texts = [a.stdout, b.stdout].join('\n');
    expect(texts).toMatch(new RegExp(`Approved result ${first} \\(route order-risk, input .*\\) as (ana|bo); published OrderRiskScored to orders-bus\\.`));
    expect(texts).toMatch(new RegExp(`Result ${first} was already approved at \\S+ by (ana|bo); nothing published\\.`));
    expect(JSON.parse(third.stdout)).toMatchObject({ outcome: 'already-decided', status: 'approved', message: expect.stringMatching(/^result .* was already approved at .* by (ana|bo); nothing published$/) });
    const released = (await results()).filter((e) => e.type === 'OrderRiskScored');
    expect(released).toHaveLength(1);
    expect(released[0]!.eventId).toBe(first);
    expect(released[0]!.envelope.event.data).toHaveProperty('result.score');
  });

  it('records a rejection with its reason, publishes nothing, and refuses to approve it afterwards', async () => {
    const second = await placeOrder('ORD-APPROVE-2');

    const noReason = await mesh('reject', second);
    const rejected = await mesh('reject', second, '--reason', 'customer called to cancel', '--actor', 'ana');
    const approve = await mesh('approve', second);
    const listed = await mesh('approvals', '--status', 'rejected', '--json');

    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason <text> is required/);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain(`Rejected result ${second} (route order-risk`);
    expect(rejected.stdout).toContain('as ana: customer called to cancel. Nothing was published.');
    expect(approve.code).toBe(1);
    expect(approve.stderr).toMatch(new RegExp(`mesh approve: ApprovalConflict: cannot approve result ${second}: it was rejected at \\S+ by ana \\(reason: customer called to cancel\\)`));
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ resultId: second, status: 'rejected', actor: 'ana', reason: 'customer called to cancel' })]);
    expect((await results()).filter((e) => e.type === 'OrderRiskScored').map((e) => e.eventId)).toEqual([first]);
  });

  it('approves through an approval event sent with PutEvents from the approvals source, once', async () => {
    third = await placeOrder('ORD-APPROVE-3');
    const approval = { Source: 'nearmesh.approvals', DetailType: 'nearmesh.Approval', Detail: JSON.stringify({ resultId: third, decision: 'approve', actor: 'risk-desk' }) };

    await client.send(new PutEventsCommand({ Entries: [approval] }));
    await client.send(new PutEventsCommand({ Entries: [approval] }));
    const forged = await client.send(
      new PutEventsCommand({ Entries: [{ ...approval, Source: 'com.acme.orders', Detail: JSON.stringify({ resultId: first, decision: 'reject', actor: 'x', reason: 'x' }) }] }),
    );

    expect(forged.FailedEntryCount).toBe(0);
    expect((await results()).filter((e) => e.type === 'OrderRiskScored').map((e) => e.eventId)).toEqual([first, third]);
    const listed = JSON.parse((await mesh('approvals', '--status', 'all', '--json')).stdout) as Held[];
    expect(listed.find((h) => h.resultId === third)).toMatchObject({ status: 'approved', actor: 'risk-desk' });
    expect(listed.find((h) => h.resultId === first)).toMatchObject({ status: 'approved' });
    expect(dev.output()).toMatch(/ApprovalSourceRefused/);
  });

  it('decides on the embedded store once mesh dev has stopped', async () => {
    const fourth = await placeOrder('ORD-APPROVE-4');
    await dev.stop();

    const listed = await mesh('approvals');
    const approved = await mesh('approve', fourth, '--actor', 'night-shift');

    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^result id\s+route\s+input\s+held at\s+status/);
    expect(listed.stdout).toContain(fourth);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`Approved result ${fourth}`);
    expect((await results()).filter((e) => e.type === 'OrderRiskScored').map((e) => e.eventId)).toEqual([first, third, fourth]);
  });

  it('says clearly when no held result has the id', async () => {
    const r = await mesh('approve', 'no-such-result');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ApprovalNotFound: no held result with id no-such-result: list them with mesh approvals/);
  });
});
