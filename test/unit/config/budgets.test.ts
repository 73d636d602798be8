import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMeshConfig, loadRoutes } from '../../../shared/config/index.ts';
import { MESH_SNAPSHOT_FILE, readMeshSnapshot } from '../../../shared/config/snapshot/index.ts';
import { writeMeshSnapshot } from '../../../shared/config/snapshot/writeMeshSnapshot.ts';
import { configIssues, MINIMAL_MESH, MINIMAL_ROUTE, tempTree } from './tempFiles.ts';

async function routeWith(task: string): Promise<{ dir: string; load: () => Promise<unknown> }> {
  const root = await tempTree({ 'mesh.yaml': MINIMAL_MESH, 'routes/r1.yaml': MINIMAL_ROUTE.replace('  maxTokens: 100\n', `  maxTokens: 100\n${task}`) });
  const config = await loadMeshConfig(join(root, 'mesh.yaml'));
  const dir = join(root, 'routes');
  return { dir, load: () => loadRoutes(dir, config) };
}

async function meshWith(limits: string): Promise<string> {
  return join(await tempTree({ 'mesh.yaml': MINIMAL_MESH.replace('    region: us-east-1\n', `    region: us-east-1\n${limits}`) }), 'mesh.yaml');
}

describe('task.budget in a route file', () => {
  it('loads tokens, costUsd and per as written', async () => {
    const { load } = await routeWith('  budget: { tokens: 200000, costUsd: 2.5, per: day }\n');

    const [route] = (await load()) as Array<{ task: { budget?: unknown } }>;

    expect(route!.task.budget).toEqual({ tokens: 200000, costUsd: 2.5, per: 'day' });
  });

  it('requires per, at its line and column', async () => {
    const { dir, load } = await routeWith('  budget: { tokens: 1000 }\n');

    const issues = await configIssues(load());

    expect(issues).toEqual([expect.objectContaining({ file: join(dir, 'r1.yaml'), path: 'task.budget.per', line: 14, column: 11 })]);
    expect(issues[0]!.message).toMatch(/minute \| hour \| day/);
  });

  it('requires tokens or costUsd, and positive numbers', async () => {
    const none = await routeWith('  budget: { per: hour }\n');
    const negative = await routeWith('  budget: { costUsd: -1, per: hour }\n');
    const badPer = await routeWith('  budget: { tokens: 10, per: week }\n');

    const [noneIssue] = await configIssues(none.load());
    const [negativeIssue] = await configIssues(negative.load());
    const [perIssue] = await configIssues(badPer.load());

    expect(noneIssue).toMatchObject({ path: 'task.budget', line: 14 });
    expect(noneIssue!.message).toMatch(/expected tokens or costUsd/);
    expect(negativeIssue).toMatchObject({ path: 'task.budget.costUsd', line: 14 });
    expect(perIssue).toMatchObject({ path: 'task.budget.per', line: 14 });
  });
});

describe('models[].limits in mesh.yaml', () => {
  it('loads rpm and tpm onto the endpoint', async () => {
    const config = await loadMeshConfig(await meshWith('    limits: { rpm: 60, tpm: 90000 }\n'));

    expect(config.models[0]!.limits).toEqual({ rpm: 60, tpm: 90000 });
  });

  it('rejects an empty or non-positive limit where it is written', async () => {
    const emptyFile = await meshWith('    limits: {}\n');
    const zeroFile = await meshWith('    limits: { rpm: 0 }\n');

    const [empty] = await configIssues(loadMeshConfig(emptyFile));
    const [zero] = await configIssues(loadMeshConfig(zeroFile));

    expect(empty).toMatchObject({ file: emptyFile, path: 'models[0].limits', line: 6 });
    expect(empty!.message).toMatch(/expected rpm or tpm/);
    expect(zero).toMatchObject({ file: zeroFile, path: 'models[0].limits.rpm', line: 6 });
  });
});

describe("the README's budgets and limits snippet", () => {
  it('loads: the endpoint limits in mesh.yaml and the budget under a route task', async () => {
    // If the snippet rots (a renamed key, a wrong shape), this fails.
    const readme = await readFile(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Budgets and rate limits'));
    const [mesh, routePart] = (/```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '').split('\n---\n');
    const budgetLine = routePart!.split('\n').find((l) => l.startsWith('budget:'))!;
    const root = await tempTree({ 'mesh.yaml': mesh!, 'routes/r1.yaml': MINIMAL_ROUTE.replace('classification: public', 'classification: internal').replace('  maxTokens: 100\n', `  maxTokens: 100\n  ${budgetLine}\n`) });

    const config = await loadMeshConfig(join(root, 'mesh.yaml'));
    const [route] = await loadRoutes(join(root, 'routes'), config);

    expect(config.models[0]!.limits).toEqual({ rpm: 60, tpm: 100000 });
    expect(route!.task.budget).toEqual({ tokens: 2000000, costUsd: 5, per: 'day' });
  });
});

describe('budgets and limits in the package-time snapshot', () => {
  it('reach the handler from the snapshot exactly as loaded from the files', async () => {
    const root = await tempTree({
      'mesh.yaml': MINIMAL_MESH.replace('    region: us-east-1\n', '    region: us-east-1\n    limits: { rpm: 60 }\n'),
      'events/routes/r1.yaml': MINIMAL_ROUTE.replace('  maxTokens: 100\n', '  maxTokens: 100\n  budget: { costUsd: 2, per: day }\n'),
    });
    const paths = { configFile: join(root, 'mesh.yaml'), routesDir: join(root, 'events', 'routes') };
    await writeMeshSnapshot(join(root, MESH_SNAPSHOT_FILE), { root, configFile: 'mesh.yaml', routesDir: 'events/routes' });

    const snap = await readMeshSnapshot(join(root, MESH_SNAPSHOT_FILE), paths);

    expect(snap!.config.models[0]!.limits).toEqual({ rpm: 60 });
    expect(snap!.routes[0]!.task.budget).toEqual({ costUsd: 2, per: 'day' });
  });
});
