import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/*
 * The registration module loaded the way the Functions Node.js worker loads `main` in Azure:
 * plain `node` with `--import tsx` (languageWorkers__node__arguments), no test runner in
 * between. It must register both functions, and the settlement extension must have registered
 * its factory in the same @azure/functions-extensions-base instance @azure/functions resolves
 * (two copies would leave every sdkBinding invocation without a converter).
 */

const REPO = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

const SCRIPT = `
import { createRequire } from 'node:module';
const { installFunctionsCore } = await import(${JSON.stringify(join(REPO, 'test', 'fakes', 'functionsHost.ts'))});
const registered = installFunctionsCore();
await import(${JSON.stringify(join(REPO, 'functions', 'azure', 'app.ts'))});
const require = createRequire(${JSON.stringify(join(REPO, 'package.json'))});
const fromFunctions = createRequire(require.resolve('@azure/functions'));
const { ResourceFactoryResolver } = fromFunctions('@azure/functions-extensions-base');
console.log(JSON.stringify({
  functions: Object.fromEntries([...registered].map(([name, f]) => [name, Object.values(f.metadata.bindings).map((b) => b.type)])),
  factory: ResourceFactoryResolver.getInstance().hasResourceFactory('AzureServiceBusReceivedMessage'),
}));
`;

describe('functions/azure/app.ts in a plain Node worker process', () => {
  it('registers on-message (no output binding, even with MESH_RESULTS_ENTITY set) and purge-claims, with the settlement factory where @azure/functions looks for it', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', MESH_RESULTS_ENTITY: 'tickets-triaged' },
      timeout: 60_000,
    });

    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      functions: { 'on-message': ['serviceBusTrigger'], 'purge-claims': ['timerTrigger'] },
      factory: true,
    });
  }, 90_000);
});
