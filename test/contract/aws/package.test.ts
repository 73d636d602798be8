import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import * as yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockToolAnswer, startBedrockFake } from '../../fakes/bedrockFake.ts';
import { startDynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import { startEventBridgeFake } from '../../fakes/eventBridgeFake.ts';

/*
 * serverless.yml packaged offline by `npm run package:aws` (the open-source Serverless
 * Framework line, osls) with fake credentials, and the CloudFormation it generates read back:
 * the rules come from the route files, the failure path and archive are wired, and IAM names
 * what it grants.
 */

const REPO = join(import.meta.dirname, '..', '..', '..');
const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// A catalogue with a regional Bedrock model, an EU inference profile and a simulated endpoint.
const MESH_YAML = `
models:
  - id: bedrock-us-east-1
    provider: bedrock
    region: us-east-1
    model: openai.gpt-oss-120b-1:0
  - id: bedrock-eu-profile
    provider: bedrock
    region: eu-central-1
    scope: geography
    model: eu.anthropic.claude-3-haiku-20240307-v1:0
  - id: sim-azure-westeurope
    provider: simulated
    cloud: azure
    region: westeurope
residency:
  public: anywhere
  internal: same-geography
  confidential: { cloud: same, geography: same, region: any }
  pii: same-region
sources:
  acme-support: { cloud: azure, region: westeurope }
destinations:
  orders-bus: { kind: eventbridge, bus: acme-orders, region: us-east-1, claimCheck: { bucket: acme-mesh-results, prefix: large/ } }
  support-topic: { kind: servicebus, namespace: acme-support, entity: tickets-triaged }
`;

let out: string;

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown }> };
let template: Template;
let dir: string;

const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-package-'));
  await mkdir(join(dir, 'routes'));
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  // Routes resolve their schemas relative to their own folder (../schemas).
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'schemas'), { recursive: true });
  for (const f of ['order-risk.yaml', 'invoice-extract.yaml']) await cp(join(REPO, 'events', 'routes', f), join(dir, 'routes', f));
  await writeFile(
    join(dir, 'routes', 'ticket-triage.yaml'),
    (await readFile(join(REPO, 'events', 'routes', 'ticket-triage.yaml'), 'utf8')).replace('models: [sim-azure-westeurope, sim-azure-eastus]', 'models: [sim-azure-westeurope]'),
  );
  out = join(dir, 'out');
  // The project's own script (`osls package`), so the test packages exactly what CI and users run.
  await run(npm, ['run', '--silent', 'package:aws', '--', '--stage', 'ci', '--package', out], {
    cwd: REPO,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
      AWS_SECRET_ACCESS_KEY: 'package-test-secret',
      AWS_REGION: 'us-east-1',
      AWS_PROFILE: '',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      MESH_CONFIG: join(dir, 'mesh.yaml'),
      MESH_ROUTES_DIR: join(dir, 'routes'),
      MESH_EVENT_BUS: 'acme-ingress',
    },
    timeout: 150_000,
  });
  template = JSON.parse(await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
}, 180_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('serverless.yml packaged with osls', () => {
  it('generates one EventBridge rule per route, on the configured bus, with the route pattern unchanged', async () => {
    const rules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties);
    const routes = await Promise.all(['order-risk', 'invoice-extract', 'ticket-triage'].map(async (id) => parse(await readFile(join(dir, 'routes', `${id}.yaml`), 'utf8')) as { id: string; match: unknown }));

    expect(rules).toHaveLength(routes.length);
    for (const route of routes) {
      const rule = rules.find((r) => r.Name === `nearmesh-ci-${route.id}`);
      expect(rule, route.id).toBeDefined();
      expect(rule!.EventPattern).toEqual(route.match);
      expect(rule!.EventBusName).toBe('acme-ingress');
      expect(rule!.State).toBe('ENABLED');
    }
  });

  it('renders each rule target\'s input as its route beside the whole event, so each delivery runs its own route', async () => {
    const rules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties as { Name: string; Targets: { InputTransformer?: { InputTemplate: string }; Input?: unknown; InputPath?: unknown }[] });

    for (const rule of rules) {
      const routeId = rule.Name.slice('nearmesh-ci-'.length);
      expect(rule.Targets).toHaveLength(1);
      const [target] = rule.Targets;
      expect(target!.Input ?? target!.InputPath).toBeUndefined();
      // What EventBridge sends: the template with the full event (detail included) in place of <aws.events.event.json>.
      const template = target!.InputTransformer!.InputTemplate;
      const rendered = JSON.parse(template.replace('<aws.events.event.json>', JSON.stringify({ id: 'e-1', detail: { a: 1 } }))) as unknown;
      expect(rendered).toEqual({ meshRoute: routeId, event: { id: 'e-1', detail: { a: 1 } } });
    }
  });

  it('runs the bundled handler on nodejs24.x with the idempotency table and the result bus in its environment', () => {
    const fn = ofType('AWS::Lambda::Function')[0]![1];
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'functions/aws/on-event.handler' });
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({
      MESH_EVENT_BUS: 'acme-ingress',
      MESH_IDEMPOTENCY_TABLE: { Ref: 'IdempotencyTable' },
      MESH_COUNTERS_TABLE: { Ref: 'CountersTable' },
      MESH_FAILURE_QUEUE_URL: { Ref: 'FailureQueue' },
    });
    // The slowest route (order-risk, 20 s) plus the publish margin fits in the timeout.
    expect(fn.Properties.Timeout).toBeGreaterThanOrEqual(23);
  });

  it('wires the failure path: an SQS on-failure destination with 14 days retention, and an archive of the bus', () => {
    const conf = ofType('AWS::Lambda::EventInvokeConfig')[0]![1];
    expect(conf.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: { 'Fn::GetAtt': ['FailureQueue', 'Arn'] } } });
    expect(conf.Properties.MaximumRetryAttempts).toBe(2);
    expect(template.Resources.FailureQueue).toMatchObject({ Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 1209600 } });
    const archive = template.Resources.EventArchive!;
    expect(archive.Type).toBe('AWS::Events::Archive');
    expect(JSON.stringify(archive.Properties.SourceArn)).toContain('event-bus/acme-ingress');
    expect(template.Resources[archive.DependsOn as string]?.Type).toBe('AWS::Events::EventBus');
  });

  it('creates the idempotency table keyed by id with a TTL', () => {
    expect(template.Resources.IdempotencyTable).toMatchObject({
      Type: 'AWS::DynamoDB::Table',
      Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true } },
    });
  });

  it('creates the usage counters table keyed by id, its ended windows removed by TTL on expiration', () => {
    expect(template.Resources.CountersTable).toMatchObject({
      Type: 'AWS::DynamoDB::Table',
      Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true } },
    });
  });

  describe('IAM', () => {
    type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
    const statements = () =>
      ofType('AWS::IAM::Role').flatMap(([, role]) =>
        ((role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => p.PolicyDocument.Statement),
      );
    const actions = (s: Statement) => [s.Action].flat();
    const granting = (action: string) => statements().filter((s) => actions(s).includes(action));

    it('has no wildcard in any action', () => {
      const all = statements().flatMap(actions);
      expect(all.length).toBeGreaterThan(0);
      expect(all.filter((a) => a.includes('*'))).toEqual([]);
    });

    it('grants bedrock:InvokeModel on the catalogue model and inference profile only; the profile models only through the profile', () => {
      const [direct, ...viaProfile] = granting('bedrock:InvokeModel');
      expect(JSON.stringify(direct!.Resource)).toBe(
        JSON.stringify([
          { 'Fn::Sub': 'arn:${AWS::Partition}:bedrock:us-east-1::foundation-model/openai.gpt-oss-120b-1:0' },
          { 'Fn::Sub': 'arn:${AWS::Partition}:bedrock:eu-central-1:${AWS::AccountId}:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0' },
        ]),
      );
      expect(viaProfile).toHaveLength(1);
      expect(JSON.stringify(viaProfile[0]!.Resource)).toContain('foundation-model/anthropic.claude-3-haiku-20240307-v1:0');
      expect(JSON.stringify(viaProfile[0]!.Condition)).toContain('inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0');
    });

    it('grants events:PutEvents on the ingress bus and the eventbridge destinations only', () => {
      const [put, ...more] = granting('events:PutEvents');
      expect(more).toEqual([]);
      const resources = JSON.stringify(put!.Resource);
      expect(resources).toContain('event-bus/acme-ingress');
      expect(resources).toContain(':events:us-east-1:${AWS::AccountId}:event-bus/acme-orders');
      expect((put!.Resource as unknown[]).length).toBe(2);
    });

    it('grants s3:PutObject under the claim-check prefix of an eventbridge destination only', () => {
      const [put, ...more] = granting('s3:PutObject');
      expect(more).toEqual([]);
      expect(actions(put!)).toEqual(['s3:PutObject']);
      expect(put!.Resource).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::acme-mesh-results/large/*' }]);
      expect(statements().flatMap(actions).filter((a) => a.startsWith('s3:'))).toEqual(['s3:PutObject']);
    });

    it('grants ssm:GetParameter on the Service Bus connection parameter of each servicebus destination only', () => {
      const [get, ...more] = granting('ssm:GetParameter');
      expect(more).toEqual([]);
      expect(actions(get!)).toEqual(['ssm:GetParameter']);
      expect(get!.Resource).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/nearmesh/servicebus/acme-support' }]);
    });

    it('grants sqs:SendMessage on the failure queue only (the handler writes permanent failures there itself)', () => {
      const sqs = statements().filter((s) => actions(s).some((a) => a.startsWith('sqs:')));
      expect(sqs).toHaveLength(1);
      expect(actions(sqs[0]!)).toEqual(['sqs:SendMessage']);
      expect([sqs[0]!.Resource].flat()).toEqual([{ 'Fn::GetAtt': ['FailureQueue', 'Arn'] }]);
    });

    it('grants the four DynamoDB item actions on the idempotency table, and only UpdateItem and GetItem on the counters table', () => {
      const dynamo = statements().filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')));
      expect(dynamo).toHaveLength(2);
      const on = (table: string) => dynamo.filter((s) => JSON.stringify(s.Resource) === JSON.stringify([{ 'Fn::GetAtt': [table, 'Arn'] }]));
      expect(on('IdempotencyTable').map((s) => actions(s).sort())).toEqual([['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']]);
      expect(on('CountersTable').map((s) => actions(s).sort())).toEqual([['dynamodb:GetItem', 'dynamodb:UpdateItem']]);
    });
  });
});

/** Extract a zip as Lambda does before it starts the runtime. */
async function unzip(zip: string, to: string): Promise<void> {
  const archive = await yauzl.openPromise(zip, { lazyEntries: true, autoClose: false });
  try {
    const entries = await new Promise<yauzl.Entry[]>((resolve, reject) => {
      const list: yauzl.Entry[] = [];
      archive.on('entry', (e: yauzl.Entry) => {
        list.push(e);
        archive.readEntry();
      });
      archive.on('end', () => resolve(list));
      archive.on('error', reject);
      archive.readEntry();
    });
    for (const entry of entries) {
      if (entry.fileName.endsWith('/')) continue;
      const target = join(to, entry.fileName);
      await mkdir(dirname(target), { recursive: true });
      await pipeline(await archive.openReadStreamPromise(entry), createWriteStream(target));
    }
  } finally {
    archive.close();
  }
}

/**
 * The bundle itself, as Lambda runs it: the function's zip extracted, `node` (not tsx) importing
 * functions/aws/on-event.mjs from the task root, and the handler invoked with the sample order
 * — the real SDK clients inside the bundle talking to the Bedrock, DynamoDB and EventBridge fakes.
 */
describe('the packaged handler (onEvent.zip)', () => {
  let task: string;

  beforeAll(async () => {
    task = join(dir, 'task');
    await unzip(join(out, 'onEvent.zip'), task);
  });

  async function invoke(env: Record<string, string>, event: unknown, root = task): Promise<{ code: number; stdout: string; stderr: string }> {
    const script = `
      const { handler } = await import(${JSON.stringify(join(root, 'functions', 'aws', 'on-event.mjs'))});
      const context = { functionName: 'onEvent', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30000, callbackWaitsForEmptyEventLoop: true };
      const result = await handler(JSON.parse(process.env.EVENT), context);
      process.stdout.write('RESULT ' + JSON.stringify(result) + '\\n');
      process.stdout.write('BUILTINS ' + JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule '))) + '\\n');`;
    try {
      const r = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          LAMBDA_TASK_ROOT: root,
          AWS_LAMBDA_FUNCTION_NAME: 'nearmesh-ci-onEvent',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
          AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
          MESH_IDEMPOTENCY_TABLE: 'idem',
          MESH_EVENT_BUS: 'acme-ingress',
          EVENT: JSON.stringify(event),
          ...env,
        },
        timeout: 60_000,
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
    }
  }

  // An event no route matches: the mesh is composed (config, routes, clients), no network call is made.
  const NO_MATCH = { version: '0', id: 'pkg-no-match', 'detail-type': 'Nothing', source: 'com.acme.none', account: '123456789012', time: '2026-11-22T08:00:00Z', region: 'us-east-1', resources: [], detail: {} };
  const SNAPSHOT_LOG = 'config and routes from the package-time snapshot';
  const logLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

  /** A copy of the extracted package, changed by `edit`, as a second task root. */
  async function taskCopy(name: string, edit: (root: string) => Promise<void>): Promise<string> {
    const root = join(dir, name);
    await cp(task, root, { recursive: true });
    await edit(root);
    return root;
  }

  const result = (stdout: string) => JSON.parse(stdout.split('\n').find((l) => l.startsWith('RESULT '))!.slice('RESULT '.length)) as { routes: { routeId: string; status: string; endpoint?: string }[] };
  /** Node's own modules the invocation loaded (`process.moduleLoadList`). */
  const builtins = (stdout: string) => JSON.parse(stdout.split('\n').find((l) => l.startsWith('BUILTINS '))!.slice('BUILTINS '.length)) as string[];
  // An ES module import of node:http makes Node read its lazy WebSocket getters, which load undici
  // (nodejs/node#59686): ~8 ms of a cold start. The bundle takes node:http through require instead.
  const UNDICI = 'NativeModule internal/deps/undici/undici';

  it('bundles the OpenTelemetry API only: no SDK, no exporter (a layer that wants spans registers its own)', async () => {
    const files = (await readdir(task, { recursive: true })).filter((f) => f.endsWith('.mjs'));
    const code = (await Promise.all(files.map((f) => readFile(join(task, f), 'utf8')))).join('\n');
    expect(code).toContain('opentelemetry.js.api.');
    for (const sdkOnly of ['maxExportBatchSize must be smaller', 'v1/traces', 'v1/metrics']) expect(code).not.toContain(sdkOnly);
  });

  it('ships mesh.yaml, the routes and schemas beside the bundle, and runs the sample order with them (through their snapshot)', async () => {
    const [events, dynamo] = await Promise.all([startEventBridgeFake(), startDynamoDbFake()]);
    dynamo.createTable('idem');
    try {
      const order = JSON.parse(await readFile(join(REPO, 'events', 'samples', '01-order-placed.eventbridge.json'), 'utf8')) as unknown;
      const r = await invoke({ AWS_ENDPOINT_URL_EVENTBRIDGE: events.url, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url }, order);

      expect(r.code, r.stderr).toBe(0);
      expect(result(r.stdout).routes).toMatchObject([{ routeId: 'order-risk', status: 'emitted' }]);
      expect(events.accepted).toMatchObject([{ Source: 'nearmesh.order-risk', DetailType: 'OrderRiskScored', EventBusName: 'acme-orders' }]);
      expect(dynamo.items('idem').map((i) => i.status?.S)).toEqual(['COMPLETED']);
    } finally {
      await Promise.all([events.close(), dynamo.close()]);
    }
  }, 90_000);

  it('carries the mesh snapshot written at package time, and the handler loads it instead of the files', async () => {
    const snapshot = JSON.parse(await readFile(join(task, 'mesh.compiled.json'), 'utf8')) as { digest: string; body: { routes: { id: string }[]; sources: { path: string }[] } };

    const r = await invoke({}, NO_MATCH);

    expect(r.code, r.stderr).toBe(0);
    // The package's own files, not the catalogue this suite packaged the rules with (MESH_CONFIG): the function runs what it ships.
    expect(snapshot.body.routes.map((x) => x.id)).toEqual(['invoice-extract', 'order-risk', 'ticket-triage']);
    expect(snapshot.body.sources.map((x) => x.path)).toContain('mesh.yaml');
    expect(logLines(r.stdout)).toContainEqual(expect.objectContaining({ message: SNAPSHOT_LOG, digest: snapshot.digest, routes: 3 }));
  }, 60_000);

  it('refuses a snapshot edited after packaging, with an error naming the file and the fix', async () => {
    const root = await taskCopy('task-edited-snapshot', async (root) => {
      const file = join(root, 'mesh.compiled.json');
      const snapshot = JSON.parse(await readFile(file, 'utf8')) as { body: { routes: { emit: { to: string[] } }[] } };
      snapshot.body.routes[0]!.emit.to = ['somewhere-else'];
      await writeFile(file, JSON.stringify(snapshot));
    });

    const r = await invoke({}, NO_MATCH, root);

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${join(root, 'mesh.compiled.json')} digest: does not match the content: the snapshot was edited or damaged after packaging; repackage`);
    expect(logLines(r.stdout).map((l) => l.message)).not.toContain(SNAPSHOT_LOG);
  }, 60_000);

  it('refuses a snapshot whose source hash no longer matches the shipped mesh.yaml (edited in place)', async () => {
    const root = await taskCopy('task-edited-config', async (root) => {
      await writeFile(join(root, 'mesh.yaml'), (await readFile(join(root, 'mesh.yaml'), 'utf8')) + '\n# edited after packaging\n');
    });

    const r = await invoke({}, NO_MATCH, root);

    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/mesh\.compiled\.json sources: mesh\.yaml changed since the snapshot was built \(sha256 [0-9a-f]{12}… then, [0-9a-f]{12}… now\)/);
  }, 60_000);

  it('calls Bedrock Converse over HTTP/2 from inside the bundle', async () => {
    const [bedrock, events, dynamo] = await Promise.all([startBedrockFake(), startEventBridgeFake(), startDynamoDbFake()]);
    dynamo.createTable('idem');
    bedrock.reply(bedrockToolAnswer({ score: 12, level: 'low', reasons: ['long-standing customer'] }));
    try {
      const order = JSON.parse(await readFile(join(REPO, 'events', 'samples', '01-order-placed.eventbridge.json'), 'utf8')) as unknown;
      const r = await invoke(
        // The catalogue this suite packaged with: order-risk may use bedrock-us-east-1 only.
        { MESH_CONFIG: join(dir, 'mesh.yaml'), MESH_ROUTES_DIR: join(dir, 'routes'), AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url, AWS_ENDPOINT_URL_EVENTBRIDGE: events.url, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url },
        order,
      );

      expect(r.code, r.stderr).toBe(0);
      // MESH_CONFIG points away from the shipped files, which the snapshot describes: they are loaded at start.
      expect(logLines(r.stdout).map((l) => l.message)).not.toContain(SNAPSHOT_LOG);
      expect(result(r.stdout).routes).toMatchObject([{ routeId: 'order-risk', status: 'emitted', endpoint: 'bedrock-us-east-1' }]);
      expect(bedrock.requests.map((q) => q.modelId)).toEqual(['openai.gpt-oss-120b-1:0']);
      // Claim, Converse over HTTP/2, PutEvents, complete: the SDKs' HTTP handlers loaded node:http without undici.
      expect(builtins(r.stdout)).toContain('NativeModule http');
      expect(builtins(r.stdout)).not.toContain(UNDICI);
      expect(JSON.parse(events.accepted[0]!.Detail)).toMatchObject({ result: { score: 12, level: 'low' } });
    } finally {
      await Promise.all([bedrock.close(), events.close(), dynamo.close()]);
    }
  }, 90_000);
});
