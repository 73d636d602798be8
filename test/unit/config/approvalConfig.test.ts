import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMeshConfig, loadRoutes } from '../../../shared/config/index.ts';
import { formatConfigIssue } from '../../../shared/core/errors.ts';
import { configIssues, MINIMAL_MESH, MINIMAL_ROUTE, tempTree } from './tempFiles.ts';

/* `approval:` in a route and `approvals:` in mesh.yaml, as the README shows them. */

const README = join(import.meta.dirname, '..', '..', '..', 'README.md');

/** The YAML blocks of the README's approval section. */
async function readmeBlocks(): Promise<string[]> {
  const text = await readFile(README, 'utf8');
  const section = text.slice(text.indexOf('## Approval checkpoints'), text.indexOf('## On call'));
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

async function load(route: string, mesh = MINIMAL_MESH) {
  const root = await tempTree({ 'mesh.yaml': mesh, 'routes/r1.yaml': route });
  const config = await loadMeshConfig(join(root, 'mesh.yaml'));
  return { config, routes: () => loadRoutes(join(root, 'routes'), config) };
}

describe('approval configuration', () => {
  it('reads the README’s route and mesh.yaml snippets', async () => {
    const [routeSnippet, meshSnippet] = await readmeBlocks();

    const { config, routes } = await load(`${MINIMAL_ROUTE}${routeSnippet}`, `${MINIMAL_MESH}${meshSnippet}`);
    const [route] = await routes();

    expect(route).toMatchObject({ approval: 'required', approvalShowsOutput: false });
    expect(config.approvals).toEqual({ source: 'com.acme.risk-desk' });
  });

  it('leaves a route without approval publishing at once, and mesh.yaml without a source on the default', async () => {
    const { config, routes } = await load(MINIMAL_ROUTE);
    const [route] = await routes();
    expect(route).not.toHaveProperty('approval');
    expect(config.approvals).toBeUndefined();
  });

  it('refuses another approval value, naming line and field', async () => {
    const { routes } = await load(`${MINIMAL_ROUTE}approval: yes\n`);
    const issues = (await configIssues(routes())).map(formatConfigIssue).join('\n');
    expect(issues).toMatch(/r1\.yaml:\d+:\d+ approval: .*required.*none/);
  });
});
