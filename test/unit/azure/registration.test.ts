import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..', '..');

describe('Azure Functions registration', () => {
  it('package.json main points the Functions host at the registration module, compiled (no TypeScript loader in the worker)', async () => {
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { main?: string };
    const build = await readFile(join(REPO, 'build.ts'), 'utf8');

    expect(pkg.main).toBe('dist/azure/app.js');
    // The build compiles the registration module to what main names.
    expect(build).toContain('functions/azure/app.ts');
  });

  it('registers on-message with no output binding even with MESH_RESULTS_ENTITY set: every result goes through an awaited sender', async () => {
    vi.stubEnv('MESH_RESULTS_ENTITY', 'tickets-triaged');
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { installFunctionsCore } = await import('../../fakes/functionsHost.ts');
    const registered = installFunctionsCore();
    vi.resetModules();
    const app = await import('../../../functions/azure/app.ts');

    expect(Object.keys(app)).not.toContain('resultsOutput');
    expect(Object.values(registered.get('on-message')!.metadata.bindings).map((b) => b.type)).toEqual(['serviceBusTrigger']);
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('host.json: extension bundle v4 and every Service Bus setting the README explains', async () => {
    const host = JSON.parse(await readFile(join(REPO, 'host.json'), 'utf8')) as { extensionBundle: unknown; functionTimeout: string; extensions: { serviceBus: Record<string, unknown> } };
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');

    expect(host.extensionBundle).toEqual({ id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' });
    expect(host.functionTimeout).toMatch(/^\d{2}:\d{2}:\d{2}$/);
    expect(host.extensions.serviceBus.autoCompleteMessages).toBe(false);
    for (const key of ['prefetchCount', 'maxConcurrentCalls', 'maxMessageBatchSize', 'autoCompleteMessages', 'maxAutoLockRenewalDuration', 'clientRetryOptions']) {
      expect(host.extensions.serviceBus).toHaveProperty(key);
      expect(readme).toContain(`serviceBus.${key}`);
    }
  });
});
