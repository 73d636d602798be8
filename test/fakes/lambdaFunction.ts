import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { startBedrockFake, type BedrockFake } from './bedrockFake.ts';
import { startDynamoDbFake, type DynamoDbFake } from './dynamoDbFake.ts';
import { startEventBridgeFake, type EventBridgeFake } from './eventBridgeFake.ts';

/*
 * What the tests of the Lambda handler share: a directory laid out as the function's package
 * (mesh.yaml, the order-risk route, the result schemas), the environment Lambda gives the
 * function stubbed (the mesh's variables, credentials, the function name, the fakes' endpoints as
 * AWS_ENDPOINT_URL_* — the real SDK clients read them), stdout captured (the Powertools
 * logger and metrics write there), and the module registry reset so each test imports the
 * handler as a fresh container does.
 */

export const REPO = join(import.meta.dirname, '..', '..');

export interface FunctionPackageOptions {
  /** mkdtemp prefix. */
  prefix: string;
  meshYaml: string;
  /** The order-risk route as the test needs it (default: as the repository has it). */
  route?: (yaml: string) => string;
}

/** A temporary directory with the function's package; remove it with `removeFunctionPackage`. */
export async function functionPackage(options: FunctionPackageOptions): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), options.prefix));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  const route = await readFile(join(REPO, 'events', 'routes', 'order-risk.yaml'), 'utf8');
  await writeFile(join(dir, 'events', 'routes', 'order-risk.yaml'), options.route ? options.route(route) : route);
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  await writeFile(join(dir, 'mesh.yaml'), options.meshYaml);
  return dir;
}

/** The services the handler calls, as wire fakes, and the environment that points the real SDK clients at them. */
export interface AwsFakes {
  bedrock: BedrockFake;
  events: EventBridgeFake;
  dynamo: DynamoDbFake;
  /** For `stubFunctionEnv`: the claims table, the bus results go to, the fakes' endpoints. */
  env: Record<string, string>;
}

/** Starts Bedrock, EventBridge and DynamoDB fakes with the idempotency table `table` created; close each fake after the test. */
export async function startAwsFakes(table: string): Promise<AwsFakes> {
  const [bedrock, events, dynamo] = await Promise.all([startBedrockFake(), startEventBridgeFake(), startDynamoDbFake()]);
  dynamo.createTable(table);
  const env = {
    MESH_IDEMPOTENCY_TABLE: table,
    MESH_EVENT_BUS: 'acme-ingress',
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    POWERTOOLS_SERVICE_NAME: 'nearmesh',
  };
  return { bedrock, events, dynamo, env };
}

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

/** The repository's sample order as EventBridge delivers it to the function. */
export async function sampleOrder(overrides: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const event = JSON.parse(await readFile(join(REPO, 'events', 'samples', '01-order-placed.eventbridge.json'), 'utf8')) as Record<string, unknown>;
  return { ...event, ...overrides };
}
