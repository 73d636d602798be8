import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startSqsFake, type SqsFake } from '../fakes/sqsFake.ts';
import { REPO, runMesh } from './devProcess.ts';

/*
 * `mesh discard` removes failed events that must never run, through the real CLI: a reason is
 * required, and who discarded what and why is kept in the local ledger's history — for a
 * ledger failure on its record, for a cloud dead letter under <source>#<message-id>.
 */

const SLOW = 60_000;

let dir: string;
let env: Record<string, string>;
let sqs: SqsFake;
let order: Record<string, unknown>;

const json = <T>(text: string): T => JSON.parse(text) as T;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-discard-'));
  sqs = await startSqsFake();
  env = { MESH_HOME: join(dir, 'home'), AWS_ENDPOINT_URL_SQS: sqs.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKE', AWS_SECRET_ACCESS_KEY: 'fake-secret', AWS_PROFILE: '' };
  order = json(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8'));
});

afterAll(async () => {
  await sqs?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('mesh discard', () => {
  it('refuses to discard without a reason (usage error)', async () => {
    const r = await runMesh(['discard', 'some-id'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--reason "<why>" is required/);
  }, SLOW);

  it('deletes a dead letter from its queue after recording who and why; a dry run removes nothing', async () => {
    // Prepare
    const url = sqs.createQueue('discard-dlq');
    const keep = sqs.send(url, JSON.stringify({ ...order, id: '55555555-0000-4000-8000-000000000001' }), { ErrorMessage: 'function timed out' });
    const drop = sqs.send(url, JSON.stringify({ ...order, id: '55555555-0000-4000-8000-000000000002' }), { ErrorMessage: 'function timed out' });
    // Act: dry run first
    const dry = await runMesh(['discard', '--source', `sqs:${url}`, drop, '--reason', 'load-test order', '--dry-run', '--json'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(json<{ discarded: Array<{ action: string }> }>(dry.stdout).discarded.map((d) => d.action)).toEqual(['would be deleted']);
    expect(sqs.visible(url)).toHaveLength(2);
    // Act
    const r = await runMesh(['discard', '--source', `sqs:${url}`, drop, '--reason', 'load-test order', '--actor', 'ana', '--json'], env);
    // Assess
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ discarded: Array<{ id: string; action: string }> }>(r.stdout).discarded).toEqual([expect.objectContaining({ id: `sqs:${url}#${drop}`, action: 'deleted' })]);
    expect(sqs.messages(url).map((m) => m.messageId)).toEqual([keep]);
    expect(sqs.visible(url)).toHaveLength(1);
    const shown = await runMesh(['failed', 'show', `sqs:${url}#${drop}`], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/by ana: not-replayed — discarded: load-test order/);
  }, SLOW);

  it('closes a ledger failure with the reason in its history', async () => {
    // Prepare: a failure in the local ledger (every model faulted)
    const doc = parse(await readFile(join(REPO, 'mesh.yaml'), 'utf8')) as { models: Array<{ simulated?: Record<string, unknown> }> };
    for (const m of doc.models) m.simulated = { ...m.simulated, latencyMs: 1, faults: { error: 1 } };
    const faulty = join(dir, 'mesh.faulty.yaml');
    await writeFile(faulty, stringify(doc));
    const eventFile = join(dir, 'order.json');
    await writeFile(eventFile, JSON.stringify({ ...order, id: '55555555-0000-4000-8000-000000000003' }));
    await runMesh(['emit', eventFile, '--config', faulty], env);
    const open = json<Array<{ id: string; eventId: string }>>((await runMesh(['failed', '--json'], env)).stdout).filter((f) => f.eventId === '55555555-0000-4000-8000-000000000003');
    expect(open).toHaveLength(1);
    // Act
    const r = await runMesh(['discard', open[0]!.id, '--reason', 'duplicate of ORD-1', '--actor', 'ana'], env);
    // Assess
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Discarded 1 by ana: duplicate of ORD-1/);
    const after = json<{ status: string; replays: Array<{ actor: string; detail: string }> }>((await runMesh(['failed', 'show', open[0]!.id, '--json'], env)).stdout);
    expect(after.status).toBe('resolved');
    expect(after.replays.at(-1)).toMatchObject({ actor: 'ana', detail: 'discarded: duplicate of ORD-1' });
  }, SLOW);
});
