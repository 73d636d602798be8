import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMeshConfig } from '../../../shared/config/index.ts';
import { defaultProviders } from '../../../shared/models/index.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

describe("the README's real-provider catalogue", () => {
  it('loads, and every entry passes its provider checks given the environment the README names', async () => {
    // If the snippet rots (a renamed option, a wrong key), this fails.
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Real model providers'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml, 'README shows a mesh.yaml with real providers').toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), 'nearmesh-readme-'));
    try {
      await writeFile(join(dir, 'mesh.yaml'), yaml!);
      const config = await loadMeshConfig(join(dir, 'mesh.yaml'));

      const issues = defaultProviders({ seed: 1, env: { OPENAI_API_KEY: 'sk-from-env' } }).configIssues(config.models, config.file);

      expect(config.models.map((m) => m.provider)).toEqual(['bedrock', 'azure-openai', 'openai', 'openai']);
      expect(issues).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
