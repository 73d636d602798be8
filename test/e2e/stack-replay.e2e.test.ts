import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudFormationFake, type CloudFormationFake } from '../fakes/cloudFormationFake.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../fakes/dynamoDbFake.ts';
import { startEventBridgeFake, type EventBridgeFake } from '../fakes/eventBridgeFake.ts';
import { startSqsFake, type SqsFake } from '../fakes/sqsFake.ts';
import { lambdaFailureRecord } from '../fakes/awsDeployment.ts';
import { REPO, runMesh } from './devProcess.ts';

/*
 * `mesh replay --stack <name>`: the deployment's settings come from its CloudFormation outputs
 * (DescribeStacks through the real client against a Query-protocol wire fake) — the idempotency
 * table, the bus, the region and the failure queue — with none of the variables set.
 */

const SLOW = 60_000;
const TABLE = 'nearmesh-test-idem';

let dir: string;
let env: Record<string, string>;
let sqs: SqsFake;
let events: EventBridgeFake;
let dynamo: DynamoDbFake;
let cfn: CloudFormationFake;
let order: Record<string, unknown>;

function destinationRecord(eventId: string): string {
  return lambdaFailureRecord({ ...order, id: eventId }, { region: 'eu-west-1' });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-stack-replay-'));
  [sqs, events, dynamo, cfn] = await Promise.all([startSqsFake(), startEventBridgeFake(), startDynamoDbFake(), startCloudFormationFake()]);
  dynamo.createTable(TABLE);
  env = {
    MESH_HOME: join(dir, 'home'),
    AWS_ENDPOINT_URL_SQS: sqs.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
    AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret',
    AWS_PROFILE: '',
    // None of the deployment's settings: the stack gives them.
    AWS_REGION: '',
    MESH_IDEMPOTENCY_TABLE: '',
    MESH_EVENT_BUS: '',
  };
  order = JSON.parse(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8')) as Record<string, unknown>;
});

afterAll(async () => {
  await Promise.all([sqs?.close(), events?.close(), dynamo?.close(), cfn?.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('mesh replay --stack', () => {
  it("replays the stack's failure queue in the stack's deployment: table, bus and region from its outputs", async () => {
    // Prepare
    const url = sqs.createQueue('nearmesh-test-failures');
    cfn.putStack('nearmesh-test', { IdempotencyTableName: TABLE, EventBusName: 'acme-orders', FailureQueueUrl: url }, 'eu-west-1');
    const eventId = '66666666-0000-4000-8000-000000000001';
    sqs.send(url, destinationRecord(eventId));
    // Act
    const r = await runMesh(['replay', '--stack', 'nearmesh-test', '--all', '--json'], env);
    // Assess
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(cfn.calls).toContainEqual(expect.objectContaining({ Action: 'DescribeStacks', StackName: 'nearmesh-test' }));
    expect(events.accepted.filter((e) => e.DetailType === 'OrderRiskScored' && e.Detail.includes(eventId))).toHaveLength(1);
    expect(sqs.visible(url)).toEqual([]);
    expect(dynamo.items(TABLE).length).toBeGreaterThan(0);
  }, SLOW);

  it('says the stack does not exist, and changes nothing', async () => {
    const r = await runMesh(['replay', '--stack', 'no-such-stack', '--all'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no stack no-such-stack/);
  }, SLOW);
});
