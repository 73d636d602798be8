import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMesh } from '../../../shared/config/index.ts';
import { MESH_SNAPSHOT_FILE, readMeshSnapshot, type MeshSnapshot } from '../../../shared/config/snapshot/index.ts';
import { snapshotDigest } from '../../../shared/config/snapshot/format.ts';
import { ConfigError } from '../../../shared/core/index.ts';
import { writeMeshSnapshot } from '../../../shared/config/snapshot/writeMeshSnapshot.ts';
import { configIssues } from './tempFiles.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

/*
 * The package-time snapshot of mesh.yaml and the routes: what a cold start loads instead of
 * the files. It must give the handler exactly what the loader gives, and must never run when it
 * no longer describes the files beside it.
 */

let root: string;
const paths = () => ({ configFile: join(root, 'mesh.yaml'), routesDir: join(root, 'events', 'routes') });
const snapshotFile = () => join(root, MESH_SNAPSHOT_FILE);
const write = () => writeMeshSnapshot(snapshotFile(), { root, configFile: 'mesh.yaml', routesDir: 'events/routes' });

beforeEach(async () => {
  // The package's layout: the repo's catalogue, routes and schemas at the task root.
  root = await mkdtemp(join(tmpdir(), 'mesh-snapshot-'));
  await cp(join(REPO, 'mesh.yaml'), join(root, 'mesh.yaml'));
  await cp(join(REPO, 'events', 'routes'), join(root, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'schemas'), join(root, 'events', 'schemas'), { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('mesh snapshot', () => {
  it('gives the handler the same config and routes as loading the files', async () => {
    await write();

    const snap = await readMeshSnapshot(snapshotFile(), paths());
    const loaded = await loadMesh(paths());

    expect(snap).toBeDefined();
    expect(snap!.config).toEqual(loaded.config);
    const data = (routes: typeof loaded.routes) => routes.map(({ task: { validateOutput: _v, ...task }, ...r }) => ({ ...r, task }));
    expect(data(snap!.routes)).toEqual(data(loaded.routes));
  });

  it('validates model answers with the same verdicts and messages as the schemas compiled at start', async () => {
    await write();
    const snap = (await readMeshSnapshot(snapshotFile(), paths()))!;
    const loaded = await loadMesh(paths());
    const answers = [
      { score: 12, level: 'low', reasons: ['long-standing customer'] },
      { score: 120, level: 'mid', reasons: [''], extra: true },
      { score: 1.5 },
      { vendor: 'Acme', invoiceNumber: 'A-1', total: -1, currency: 'eur', dueDate: 'soon' },
      { vendor: 'Acme', invoiceNumber: 'A-1', total: 10, currency: 'EUR', dueDate: '2026-02-30' },
      { category: 'billing', priority: 'p9', sentiment: 'neutral', summary: 'x'.repeat(201) },
      'not an object',
    ];

    for (const [i, route] of loaded.routes.entries()) {
      for (const answer of answers) expect(snap.routes[i]!.task.validateOutput(answer), `${route.id} ${JSON.stringify(answer)}`).toEqual(route.task.validateOutput(answer));
    }
    expect(snap.routes.find((r) => r.id === 'order-risk')!.task.validateOutput(answers[1])).toContain('/score: must be <= 100');
  });

  it('names every file it was built from with its hash, relative to the package root', async () => {
    const snapshot = await write();

    expect(snapshot.body.sources.map((s) => s.path)).toEqual(expect.arrayContaining(['mesh.yaml', 'events/routes/order-risk.yaml', 'events/schemas/order-risk.output.json']));
    expect(JSON.stringify(snapshot)).not.toContain(root);
    const snap = await readMeshSnapshot(snapshotFile(), paths());
    expect(snap!.routes.find((r) => r.id === 'order-risk')!.file).toBe(join(root, 'events', 'routes', 'order-risk.yaml'));
  });

  it('is absent without a snapshot file, so the caller loads the files', async () => {
    expect(await readMeshSnapshot(snapshotFile(), paths())).toBeUndefined();
  });

  it('evaluates the validators only when an answer is first checked: a cold start whose event matches no route pays nothing for them', async () => {
    await write();
    const snapshot = JSON.parse(await readFile(snapshotFile(), 'utf8')) as MeshSnapshot;
    // Packaged as it is written, plus a mark of when the code runs (the digest redone, as packaging would).
    snapshot.body.validators = `globalThis.__meshValidatorsRuns = (globalThis.__meshValidatorsRuns ?? 0) + 1;\n${snapshot.body.validators}`;
    snapshot.digest = snapshotDigest(snapshot.body);
    await writeFile(snapshotFile(), JSON.stringify(snapshot));
    const runs = () => (globalThis as { __meshValidatorsRuns?: number }).__meshValidatorsRuns ?? 0;
    const before = runs();

    const snap = (await readMeshSnapshot(snapshotFile(), paths()))!;
    expect(runs()).toBe(before);

    const risk = snap.routes.find((r) => r.id === 'order-risk')!;
    expect(risk.task.validateOutput({ score: 101, reason: 'x' })).toContain('/score: must be <= 100');
    expect(snap.routes.every((r) => Array.isArray(r.task.validateOutput({})))).toBe(true);
    expect(runs()).toBe(before + 1);
  });

  it('fails a route whose validator is missing from the code with a ConfigError naming the route and the remedy', async () => {
    await write();
    const snapshot = JSON.parse(await readFile(snapshotFile(), 'utf8')) as MeshSnapshot;
    snapshot.body.validators = `${snapshot.body.validators}\nmodule.exports = Object.fromEntries(Object.entries(module.exports).filter(([name]) => name !== 'v0'));`;
    snapshot.digest = snapshotDigest(snapshot.body);
    await writeFile(snapshotFile(), JSON.stringify(snapshot));

    const snap = (await readMeshSnapshot(snapshotFile(), paths()))!;
    const first = snap.routes[0]!;

    expect(() => first.task.validateOutput({})).toThrow(ConfigError);
    expect(() => first.task.validateOutput({})).toThrow(`routes[0]: has no output validator for route ${first.id}; repackage (npm run package:aws) to rebuild it`);
  });

  it('refuses a snapshot edited after packaging', async () => {
    await write();
    const snapshot = JSON.parse(await readFile(snapshotFile(), 'utf8')) as MeshSnapshot;
    snapshot.body.routes[0]!.emit.to = ['somewhere-else'];
    await writeFile(snapshotFile(), JSON.stringify(snapshot));

    const [issue] = await configIssues(readMeshSnapshot(snapshotFile(), paths()));

    expect(issue).toMatchObject({ file: snapshotFile(), path: 'digest' });
    expect(issue!.message).toMatch(/^does not match the content: the snapshot was edited or damaged after packaging; repackage \(npm run package:aws\) to rebuild it, or delete it/);
  });

  it('refuses a snapshot older than a route file beside it, naming the file', async () => {
    await write();
    await appendFile(join(root, 'events', 'routes', 'order-risk.yaml'), '# edited in the console\n');

    const [issue] = await configIssues(readMeshSnapshot(snapshotFile(), paths()));

    expect(issue!.message).toMatch(/^events\/routes\/order-risk\.yaml changed since the snapshot was built \(sha256 [0-9a-f]{12}… then, [0-9a-f]{12}… now\)/);
  });

  it('refuses a snapshot older than an output schema it compiled', async () => {
    await write();
    await appendFile(join(root, 'events', 'schemas', 'ticket-triage.output.json'), '\n');

    expect((await configIssues(readMeshSnapshot(snapshotFile(), paths())))[0]!.message).toContain('events/schemas/ticket-triage.output.json changed');
  });

  it('refuses a snapshot that does not know a route file added since', async () => {
    await write();
    await cp(join(root, 'events', 'routes', 'order-risk.yaml'), join(root, 'events', 'routes', 'order-risk-2.yaml'));

    expect((await configIssues(readMeshSnapshot(snapshotFile(), paths())))[0]!.message).toContain('events/routes/order-risk-2.yaml was added since the snapshot was built');
  });

  it('refuses a snapshot written by another version', async () => {
    await write();
    const snapshot = JSON.parse(await readFile(snapshotFile(), 'utf8')) as Record<string, unknown>;
    await writeFile(snapshotFile(), JSON.stringify({ ...snapshot, format: 'nearmesh-mesh-snapshot/0' }));

    expect((await configIssues(readMeshSnapshot(snapshotFile(), paths())))[0]!.message).toContain('written by another version of nearmesh');
  });

  it('is not written for an invalid route: packaging fails with its file and line', async () => {
    const file = join(root, 'events', 'routes', 'order-risk.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('maxTokens: 400', 'maxTokens: -4'));

    const issues = await configIssues(write());

    expect(issues).toEqual([expect.objectContaining({ file, path: 'task.maxTokens', line: expect.any(Number) })]);
    await expect(readFile(snapshotFile())).rejects.toThrow(/ENOENT/);
  });
});

describe('the composition with a snapshot', () => {
  it('uses the snapshot when one is given and present, and loads the files otherwise', async () => {
    const { loadMeshParts } = await import('../../../shared/runtime/composeMesh.ts');
    const withoutFile = await loadMeshParts({ ...paths(), snapshotFile: snapshotFile() });
    await write();
    const withFile = await loadMeshParts({ ...paths(), snapshotFile: snapshotFile() });

    expect(withoutFile.configSource).toBe('files');
    expect(withFile.configSource).toBe('snapshot');
    expect(withFile.routes.map((r) => r.id)).toEqual(withoutFile.routes.map((r) => r.id));
  });

  it('fails the composition, not silently falls back, when the snapshot is stale', async () => {
    const { loadMeshParts } = await import('../../../shared/runtime/composeMesh.ts');
    await write();
    await appendFile(join(root, 'mesh.yaml'), '# edited\n');

    expect((await configIssues(loadMeshParts({ ...paths(), snapshotFile: snapshotFile() })))[0]!.message).toContain('mesh.yaml changed since the snapshot was built');
  });
});
