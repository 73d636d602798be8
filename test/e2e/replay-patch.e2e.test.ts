import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { REPO, runMesh } from './devProcess.ts';

/*
 * Edit before replay, with the real CLI: an order fails, the engineer fixes its detail with a
 * merge patch (--patch) or in an editor (--edit, EDITOR a small script here) and replays it;
 * the failure keeps the original event, the history keeps the change.
 */

let dir: string;
let env: Record<string, string>;
const json = <T>(text: string): T => JSON.parse(text) as T;

interface Failure {
  id: string;
  routeId: string;
  status: string;
  envelope: { event: { data: { customer: { tier: string } } } };
  replays?: Array<{ outcome: string; options?: Record<string, string> }>;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-replay-patch-'));
  env = { MESH_HOME: join(dir, 'home') };
  const doc = parse(await readFile(join(REPO, 'mesh.yaml'), 'utf8')) as { models: Array<{ simulated?: Record<string, unknown> }> };
  for (const m of doc.models) m.simulated = { ...m.simulated, latencyMs: 1, faults: { error: 1 } };
  const faulty = join(dir, 'mesh.faulty.yaml');
  await writeFile(faulty, stringify(doc));
  const sample = json<Record<string, unknown> & { detail: Record<string, unknown> }>(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8'));
  const files: string[] = [];
  for (const i of [1, 2]) {
    const file = join(dir, `order-${i}.json`);
    await writeFile(file, JSON.stringify({ ...sample, id: `00000000-0000-4000-8000-00000000000${i}` }));
    files.push(file);
  }
  expect((await runMesh(['emit', ...files, '--config', faulty], env)).code).toBe(1);
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function shown(id: string): Promise<Failure> {
  return json<Failure>((await runMesh(['failed', 'show', id, '--json'], env)).stdout);
}

async function failures(): Promise<Failure[]> {
  return json<Failure[]>((await runMesh(['failed', '--status', 'all', '--json'], env)).stdout).filter((f) => f.routeId === 'order-risk');
}

describe('mesh replay --patch / --edit', () => {
  it('refuses a patch that is not a JSON object before anything runs', async () => {
    const [first] = await failures();
    await writeFile(join(dir, 'bad.json'), '["gold"]');
    const r = await runMesh(['replay', first!.id, '--patch', join(dir, 'bad.json')], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expected a JSON object, a merge patch on the event's detail/);
    expect((await shown(first!.id)).replays ?? []).toEqual([]);
  }, 120_000);

  it('replays one failure with a merge patch; the failure keeps the original, the history the patch', async () => {
    const [first] = await failures();
    await writeFile(join(dir, 'fix.json'), JSON.stringify({ customer: { tier: 'gold' } }));
    const r = await runMesh(['replay', first!.id, '--patch', join(dir, 'fix.json'), '--actor', 'ana', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ outcomes: Array<{ outcome: string }> }>(r.stdout).outcomes[0]!.outcome).toBe('succeeded');
    const after = await shown(first!.id);
    expect(after.status).toBe('resolved');
    expect(after.envelope.event.data.customer.tier).toBe('regular');
    expect(after.replays![0]!.options).toEqual({ patch: '{"customer":{"tier":"gold"}}', patchFrom: 'fix.json' });
    const text = await runMesh(['failed', 'show', first!.id], env);
    expect(text.stdout).toMatch(/by ana: succeeded .*\[patch \{"customer":\{"tier":"gold"\}\}, patchFrom fix\.json\]/);
  }, 120_000);

  it('--edit opens the event in $EDITOR and replays the edited detail, kept as a merge patch', async () => {
    const second = (await failures()).find((f) => f.status === 'open')!;
    const editor = join(dir, 'edit.mjs');
    await writeFile(
      editor,
      `#!/usr/bin/env node
import { readFileSync, writeFileSync } from 'node:fs';
const file = process.argv[2];
const event = JSON.parse(readFileSync(file, 'utf8'));
event.detail.customer.tier = 'platinum';
event.detail.note = 'checked by ana';
writeFileSync(file, JSON.stringify(event));
`,
    );
    await chmod(editor, 0o755);
    const r = await runMesh(['replay', second.id, '--edit', '--json'], { ...env, EDITOR: `${process.execPath} ${editor}` });
    expect(r.code, r.stdout).toBe(0);
    const after = await shown(second.id);
    expect(after.replays![0]!.options).toEqual({ patch: '{"customer":{"tier":"platinum"},"note":"checked by ana"}', patchFrom: '--edit' });
  }, 120_000);

  it('--edit refuses a change outside the detail', async () => {
    const editor = join(dir, 'edit-id.mjs');
    await writeFile(editor, `import { readFileSync, writeFileSync } from 'node:fs';\nconst f = process.argv[2];\nconst e = JSON.parse(readFileSync(f, 'utf8'));\ne.id = 'other';\nwriteFileSync(f, JSON.stringify(e));\n`);
    const [first] = await failures();
    const r = await runMesh(['replay', first!.id, '--edit'], { ...env, EDITOR: `${process.execPath} ${editor}` });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/only the detail may change \(id identify/);
  }, 120_000);
});
