import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { vi } from 'vitest';

export { functionPackage, REPO, sampleOrder, startAwsFakes, type AwsFakes, type FunctionPackageOptions } from './lambdaPackage.ts';

/*
 * What the tests of the Lambda handler share: a directory laid out as the function's package
 * (mesh.yaml, the order-risk route, the result schemas), the environment Lambda gives the
 * function stubbed (the mesh's variables, credentials, the function name, the fakes' endpoints as
 * AWS_ENDPOINT_URL_* — the real SDK clients read them), stdout captured (the Powertools
 * logger and metrics write there), and the module registry reset so each test imports the
 * handler as a fresh container does.
 */

/**
 * Stubs the function's environment for the package in `dir` plus `env` (endpoints, tables, a
 * trace id), sends stdout to `onStdout` (default: nowhere) and resets modules.
 */
export function stubFunctionEnv(dir: string, env: Record<string, string>, onStdout?: (chunk: string) => void): void {
  const base: Record<string, string> = {
    MESH_CONFIG: join(dir, 'mesh.yaml'),
    MESH_ROUTES_DIR: join(dir, 'events', 'routes'),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
    AWS_SECRET_ACCESS_KEY: 'lambda-test-secret',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_LAMBDA_FUNCTION_NAME: 'nearmesh-test-onEvent',
  };
  for (const [k, v] of Object.entries({ ...base, ...env })) vi.stubEnv(k, v);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    onStdout?.(String(chunk));
    return true;
  });
  vi.resetModules();
}

/** Undoes `stubFunctionEnv` and removes the package directory. */
export async function removeFunctionPackage(dir: string): Promise<void> {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
}

/** The handler of functions/aws/on-event.ts, imported after the environment is stubbed. */
export async function importOnEventHandler() {
  return (await import('../../functions/aws/on-event.ts')).handler;
}

