import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBedrockFake, type BedrockFake } from './bedrockFake.ts';
import { startDynamoDbFake, type DynamoDbFake } from './dynamoDbFake.ts';
import { startEventBridgeFake, type EventBridgeFake } from './eventBridgeFake.ts';

/*
 * The Lambda function's package and the services it calls, without a test runner: a directory
 * laid out as the package (mesh.yaml, the order-risk route, the result schemas), the wire fakes
 * of Bedrock, EventBridge and DynamoDB, and the sample order. The handler's tests (through
 * lambdaFunction.ts) and the cold-start bench use the same ones.
 */

export const REPO = join(import.meta.dirname, '..', '..');

export interface FunctionPackageOptions {
  /** mkdtemp prefix. */
  prefix: string;
  meshYaml: string;
  /** The order-risk route as the test needs it (default: as the repository has it). */
  route?: (yaml: string) => string;
}

/** A temporary directory with the function's package (the tests remove it with `removeFunctionPackage`). */
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

/** The repository's sample order as EventBridge delivers it to the function. */
export async function sampleOrder(overrides: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const event = JSON.parse(await readFile(join(REPO, 'events', 'samples', '01-order-placed.eventbridge.json'), 'utf8')) as Record<string, unknown>;
  return { ...event, ...overrides };
}
