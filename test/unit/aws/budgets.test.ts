import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createOnEventHandler } from '../../../functions/aws/createOnEventHandler.ts';
import { counterWindow, usageKeys, type Envelope, type Publisher, type UsageCounters } from '../../../shared/core/index.ts';
import { createAwsMesh, type AwsMesh } from '../../../shared/runtime/createAwsMesh.ts';
import { createDynamoDbStore } from '../../../shared/store/dynamodb/index.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { lambdaContext } from '../../fakes/lambdaContext.ts';
import { ScriptedProvider } from '../../fakes/scriptedProvider.ts';

/*
 * Budgets and rate limits through the Lambda handler (createOnEventHandler, what on-event.ts
 * exports), two containers at once: each with its own mesh, its own DynamoDB client, its claims
 * and its usage counters in the wire fake's tables (the counters table as MESH_COUNTERS_TABLE
 * names it), so what they share is only what two Lambda containers share: DynamoDB and its
 * conditional updates. The clock stands still, so every invocation falls in one minute.
 */

const REPO = join(import.meta.dirname, '..', '..', '..');
const TABLE = 'nearmesh-budgets';
const COUNTERS = 'nearmesh-budgets-counters';
const MESH_YAML = `
models:
  - { id: near, provider: simulated, cloud: aws, region: us-east-1, limits: { rpm: 2 } }
  - { id: far, provider: simulated, cloud: aws, region: us-west-2, limits: { rpm: 1 } }
  - { id: eu, provider: simulated, cloud: aws, region: eu-central-1 }
residency:
  internal: same-geography
destinations:
  orders-bus: { kind: eventbridge, bus: acme-orders, region: us-east-1 }
`;
const ANSWER = { score: 12, level: 'low', reasons: ['long-standing customer'] };

let dir: string;
let dynamo: DynamoDbFake;
let clock: FakeClock;
let counters: UsageCounters;
let provider: ScriptedProvider;
let published: Envelope[];
let meshes: AwsMesh[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-lambda-budgets-'));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  const route = await readFile(join(REPO, 'events', 'routes', 'order-risk.yaml'), 'utf8');
  // One attempt per endpoint; a budget of 100 000 tokens an hour.
  await writeFile(join(dir, 'events', 'routes', 'order-risk.yaml'), route.replace('  attemptsPerEndpoint: 2\n', '  attemptsPerEndpoint: 1\n  budget: { tokens: 100000, per: hour }\n'));
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  dynamo = await startDynamoDbFake();
  dynamo.createTable(TABLE);
  dynamo.createTable(COUNTERS);
  // Near the real time (claims expire by it), at the start of a minute.
  clock = new FakeClock(new Date(Math.floor(Date.now() / 60_000) * 60_000 + 1_000).toISOString());
  // What the test itself reads and adds: a third client on the same table.
  counters = createDynamoDbStore({ tableName: TABLE, countersTable: COUNTERS, client: dynamoClient() }).counters!;
  provider = new ScriptedProvider({ near: [{ output: ANSWER }], far: [{ output: ANSWER }], eu: [{ output: ANSWER }] });
  published = [];
  meshes = [];
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(meshes.map((m) => m.close()));
  await dynamo.close();
  await rm(dir, { recursive: true, force: true });
});

function dynamoClient(): DynamoDBClient {
  return new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' } });
}

/** One Lambda container: its own mesh and DynamoDB client; claims and counters in the fake's tables. */
async function container() {
  const recorder: Publisher = {
    async publish(_destination, events) {
      published.push(...events);
      return events.map((e) => ({ id: e.event.id, ok: true as const }));
    },
  };
  const mesh = await createAwsMesh({
    configFile: join(dir, 'mesh.yaml'),
    routesDir: join(dir, 'events', 'routes'),
    store: createDynamoDbStore({ tableName: TABLE, countersTable: COUNTERS, client: dynamoClient() }),
    providers: { get: () => provider },
    publishers: { eventbridge: recorder },
    clock,
  });
  meshes.push(mesh);
  const handler = createOnEventHandler({
    mesh: async () => mesh,
    logger: new Logger({ serviceName: 'nearmesh-test' }),
    metrics: new Metrics({ namespace: 'nearmesh-test', serviceName: 'nearmesh-test' }),
    serviceName: 'nearmesh-test',
    eventBus: 'acme-ingress',
    publishMarginMs: 1_000,
  });
  return handler;
}

async function order(id: string) {
  const event = JSON.parse(await readFile(join(REPO, 'events', 'samples', '01-order-placed.eventbridge.json'), 'utf8')) as Record<string, unknown>;
  return { ...event, id };
}

describe('budgets and rate limits through the Lambda handler', () => {
  it('two containers sharing the counters spill over to the next allowed endpoint and never exceed its rpm together; the rest fail retryably, naming each endpoint', async () => {
    const [a, b] = [await container(), await container()];

    const settled = await Promise.allSettled(['e-1', 'e-2', 'e-3', 'e-4', 'e-5'].map(async (id, i) => (i % 2 ? b : a)(await order(id), lambdaContext())));

    expect(provider.callsTo('near')).toBe(2);
    expect(provider.callsTo('far')).toBe(1);
    expect(provider.callsTo('eu')).toBe(0);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(3);
    expect(published).toHaveLength(3);
    const thrown = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error & { retryable: boolean }] : []));
    expect(thrown).toHaveLength(2);
    for (const error of thrown) {
      // Thrown, so Lambda retries it and its on-failure destination keeps it after that.
      expect(error.name).toBe('RateLimited');
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/\[route order-risk\] RateLimited: .*every allowed endpoint is at its rate limit.*near: rpm 2 used in this minute, resets at .*far: rpm 1 used in this minute/);
    }
  });

  it('refuses an event over the route budget before any model call: BudgetExceeded is thrown (retryable) with the reset time', async () => {
    const handler = await container();
    await counters.adjust(usageKeys.budgetTokens('order-risk'), counterWindow('hour', clock.now().getTime()), 99_900);

    const invoked = handler(await order('e-over'), lambdaContext());

    await expect(invoked).rejects.toMatchObject({ name: 'BudgetExceeded', retryable: true });
    await expect(invoked).rejects.toThrow(/\[route order-risk\] BudgetExceeded: route order-risk is over its budget: 99900 tokens used of 100000 tokens per hour.*replay the event then/);
    expect(provider.calls).toHaveLength(0);
    expect(published).toHaveLength(0);
  });

  it('refuses to start a mesh with budgets or limits whose store keeps no counters', async () => {
    const client = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' } });

    // Without counters whatever the DynamoDB store keeps by now.
    const { counters: _none, ...uncounted } = createDynamoDbStore({ tableName: TABLE, client });

    const built = createAwsMesh({ configFile: join(dir, 'mesh.yaml'), routesDir: join(dir, 'events', 'routes'), store: uncounted, providers: { get: () => provider } });

    await expect(built).rejects.toMatchObject({ code: 'ConfigError' });
    await expect(built).rejects.toThrow(/order-risk\.yaml task\.budget: route order-risk's budget cannot be enforced[\s\S]*mesh\.yaml models\[0\]\.limits: endpoint near's limits cannot be enforced/);
  });
});
