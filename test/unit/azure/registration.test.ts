import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..', '..');

describe('Azure Functions registration', () => {
  it('package.json main points the Functions host at the registration module', async () => {
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { main?: string };

    expect(pkg.main).toBe('functions/azure/app.ts');
  });

  it('exports the results output binding under a fixed name, sending to the MESH_RESULTS_ENTITY topic over the trigger connection', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { resultsOutput, onMessage } = await import('../../../functions/azure/app.ts');

    expect(resultsOutput).toMatchObject({ type: 'serviceBus', name: 'meshResults', topicName: '%MESH_RESULTS_ENTITY%', connection: 'ServiceBusConnection' });
    expect(typeof onMessage).toBe('function');
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
