import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runMesh } from './devProcess.ts';

/* The `mesh` commands as an on-call engineer runs them, with no `mesh dev` running. */

const homes: string[] = [];

/** A fresh MESH_HOME (an empty directory; the first command creates the store in it). */
async function home(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nearmesh-cli-'));
  homes.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(homes.map((dir) => rm(dir, { recursive: true, force: true })));
});

// Each test spawns several `mesh` processes, each starting Node and opening the embedded
// store: generous limits, because a loaded 2-core CI machine slows every start.
const SLOW = 120_000;

describe('mesh validate', () => {
  it('accepts the repository configuration', async () => {
    const r = await runMesh(['validate', '--json'], { MESH_HOME: await home() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, routes: expect.arrayContaining([expect.objectContaining({ id: 'order-risk' })]) });
  });

  it('exits 1 and names file, line, path and what was expected for every problem', async () => {
    // Prepare: a copy of the routes with a typo and a bad value
    const dir = await home();
    const routes = join(dir, 'routes');
    await mkdir(routes);
    await cp(join(REPO, 'events/schemas'), join(dir, 'schemas'), { recursive: true });
    await writeFile(
      join(routes, 'broken.yaml'),
      [
        'id: broken',
        'match:',
        '  source: com.acme.orders',
        'data:',
        '  classification: internal',
        'task:',
        '  prompt: "Score {{detail.total}}"',
        '  output: { type: object, properties: { score: { type: number } } }',
        '  maxToken: 100',
        'emit:',
        '  source: nearmesh.broken',
        '  detailType: Broken',
        '',
      ].join('\n'),
    );
    // Act
    const r = await runMesh(['validate', '--routes', routes], { MESH_HOME: dir });
    // Assess
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml:9:3 task\.maxToken: unknown key "maxToken" \(did you mean "maxTokens"\?\)/);
    expect(r.stderr).toMatch(/broken\.yaml:3:\d+ match\.source: .*array/);
  });

  it('says how to fix a missing mesh.yaml', async () => {
    const r = await runMesh(['validate', '--config', '/nonexistent/mesh.yaml'], { MESH_HOME: await home() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--config');
  });
});

describe('MESH_MODELS=simulated', () => {
  it('runs a catalogue of real providers offline: same placement, answers from the simulated provider, provenance says so', async () => {
    // Prepare: the sample catalogue with its us-east-1 endpoint turned into real Bedrock
    const dir = await home();
    const text = await readFile(join(REPO, 'mesh.yaml'), 'utf8');
    const live = text
      .replace(/- id: sim-bedrock-us-east-1\n {4}provider: simulated\n/, '- id: bedrock-us-east-1\n    provider: bedrock\n')
      .replace(/(price: \{ input: 0\.15, output: 0\.6 \})\n {4}simulated:\n {6}latencyMs: \[60, 180\]\n/, '$1\n');
    expect(live).not.toBe(text);
    await writeFile(join(dir, 'mesh.yaml'), live);
    const env = { MESH_HOME: dir, MESH_MODELS: 'simulated' };
    // Act
    const r = await runMesh(['emit', 'events/samples/01-order-placed.eventbridge.json', '--config', join(dir, 'mesh.yaml'), '--json'], env);
    // Assess
    expect(r.code, r.stderr).toBe(0);
    const [outcome] = JSON.parse(r.stdout) as Array<{ routes: Array<{ endpoint: string; result: { data: { provenance: { provider: string } } } }> }>;
    expect(outcome!.routes[0]!.endpoint).toBe('bedrock-us-east-1');
    expect(outcome!.routes[0]!.result.data.provenance.provider).toBe('simulated');
  }, SLOW);
});

describe('mesh emit, events and failed without mesh dev', () => {
  let shared: string;

  it('processes an event file in-process, then lists it and its failure from the embedded store', async () => {
    shared = await home();
    const env = { MESH_HOME: shared };
    // Act: one event that succeeds and one that violates residency
    const ok = await runMesh(['emit', 'events/samples/01-order-placed.eventbridge.json'], env);
    const bad = await runMesh(['emit', 'events/samples/06-ticket-opened-stockholm.servicebus.json', '--json'], env);
    // Assess
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/✓ order-risk → sim-bedrock-us-east-1/);
    expect(ok.stderr).toContain('mesh dev is not running');
    expect(bad.code).toBe(1);
    const outcome = (JSON.parse(bad.stdout) as Array<{ routes: Array<{ status: string; failureId: string }> }>)[0]!;
    expect(outcome.routes[0]!.status).toBe('failed');

    const events = await runMesh(['events', '--json'], env);
    const kinds = (JSON.parse(events.stdout) as Array<{ kind: string }>).map((e) => e.kind);
    expect(kinds).toEqual(['input', 'result', 'input']);

    const table = await runMesh(['failed'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/ticket-triage\s+PolicyViolation/);

    const show = await runMesh(['failed', 'show', outcome.routes[0]!.failureId], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('attempts:  none (no model call was made)');
    expect(show.stdout).toMatch(/rejected sim-azure-westeurope: .*swedencentral/);
    expect(show.stdout).toContain('"id": "TCK-88419"');
  }, SLOW);

  it('exits 2 with usage for a bad option, and 1 for an unknown failure id', async () => {
    const env = { MESH_HOME: shared ?? (await home()) };
    const usage = await runMesh(['failed', '--status', 'closed'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--status: expected open, resolved or all, got "closed"');
    const missing = await runMesh(['failed', 'show', 'nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No failure with id nope');
  }, SLOW);
});
