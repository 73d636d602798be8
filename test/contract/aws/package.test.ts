import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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
  const out = join(dir, 'out');
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

  it('runs the bundled handler on nodejs22.x with the idempotency table and the result bus in its environment', () => {
    const fn = ofType('AWS::Lambda::Function')[0]![1];
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'functions/aws/on-event.handler' });
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({ MESH_EVENT_BUS: 'acme-ingress', MESH_IDEMPOTENCY_TABLE: { Ref: 'IdempotencyTable' } });
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

    it('grants the DynamoDB item actions on the idempotency table only', () => {
      const dynamo = statements().filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')));
      expect(dynamo).toHaveLength(1);
      expect(actions(dynamo[0]!).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
      expect(dynamo[0]!.Resource).toEqual([{ 'Fn::GetAtt': ['IdempotencyTable', 'Arn'] }]);
    });
  });
});
