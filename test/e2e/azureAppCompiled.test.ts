import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/*
 * What the Functions worker loads in Azure: package.json `main`, the app compiled by
 * `npm run build` (built before the suite by test/globalSetup.ts), in plain `node` — no loader,
 * no test runner. It must register both functions, with the settlement extension's factory in
 * the one @azure/functions-extensions-base @azure/functions resolves (packages stay external
 * in dist/, so there is one copy).
 */

const REPO = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

const script = (main: string) => `
import { createRequire } from 'node:module';
const { installFunctionsCore } = await import(${JSON.stringify(join(REPO, 'test', 'fakes', 'functionsHost.ts'))});
const registered = installFunctionsCore();
await import(${JSON.stringify(main)});
const require = createRequire(${JSON.stringify(join(REPO, 'package.json'))});
const { ResourceFactoryResolver } = createRequire(require.resolve('@azure/functions'))('@azure/functions-extensions-base');
console.log(JSON.stringify({
  functions: [...registered.keys()].sort(),
  factory: ResourceFactoryResolver.getInstance().hasResourceFactory('AzureServiceBusReceivedMessage'),
}));
`;

describe('the compiled Azure app (package.json main)', () => {
  it('is JavaScript in dist/ and registers on-message and purge-claims with the settlement factory, in plain node', async () => {
    const { main } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { main: string };

    // The stand-in host is TypeScript, which Node 24 runs by stripping types; the app is not.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script(join(REPO, main))], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '' },
      timeout: 60_000,
    });

    expect(main).toMatch(/^dist\/.*\.js$/);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ functions: ['on-message', 'purge-claims'], factory: true });
  }, 90_000);
});
