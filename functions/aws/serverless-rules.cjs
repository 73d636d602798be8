/* global require, module, __dirname, process */
/* eslint-disable @typescript-eslint/no-require-imports -- the framework loads resolvers as CommonJS */
'use strict';
/*
 * serverless.yml's resolver for what is generated from the route files and mesh.yaml: one
 * EventBridge rule per route (the route's pattern, unchanged), the IAM statements scoped to
 * the catalogue's Bedrock models and the result buses, and the function timeout. The plan is
 * computed by the TypeScript loader (deploy/printDeployPlan.ts), so there is one source of truth.
 */
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
const plans = new Map();

async function plan({ resolveVariable }) {
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const eventBus = await resolveVariable('self:custom.mesh.eventBus');
  const key = [service, stage, eventBus].join('\0');
  if (!plans.has(key)) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, 'deploy', 'printDeployPlan.ts'), service, stage, eventBus], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    plans.set(key, { ...JSON.parse(out), eventBus });
  }
  return plans.get(key);
}

module.exports = {
  /**
   * `functions.onEvent.events`: one eventBridge event per route. EventBridge delivers to every
   * matching rule's target separately; the target's input names the rule's route beside the
   * whole event (`<aws.events.event.json>`), so each delivery runs its own route only.
   */
  events: async (ctx) => {
    const p = await plan(ctx);
    return p.rules.map((r) => ({
      eventBridge: { name: r.name, description: r.description, eventBus: p.eventBus, pattern: r.pattern, inputTransformer: { inputTemplate: r.inputTemplate } },
    }));
  },
  /**
   * The function's policy: Bedrock and PutEvents from the plan, then this stack's tables (the
   * framework adds sqs:SendMessage for the on-failure queue). The counters are only ever added to
   * and read (DynamoDbCounters.ts), so their table gets UpdateItem and GetItem, nothing more.
   */
  statements: async (ctx) => [
    ...(await plan(ctx)).statements,
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      Resource: [{ 'Fn::GetAtt': ['IdempotencyTable', 'Arn'] }],
    },
    {
      Effect: 'Allow',
      Action: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
      Resource: [{ 'Fn::GetAtt': ['CountersTable', 'Arn'] }],
    },
  ],
  timeout: async (ctx) => (await plan(ctx)).timeoutSeconds,
  /** The EventBridge archive of the ingress bus, so `mesh replay` (or StartReplay) can resend any window of events. */
  archive: async (ctx) => {
    const { eventBus } = await plan(ctx);
    const retentionDays = Number(await ctx.resolveVariable('self:custom.mesh.archiveRetentionDays'));
    const isArn = eventBus.startsWith('arn:');
    const name = isArn ? eventBus.slice(eventBus.indexOf('/') + 1) : eventBus;
    const sourceArn = isArn
      ? eventBus
      : { 'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${name}` };
    const archive = { Type: 'AWS::Events::Archive', Properties: { Description: `nearmesh: every event on ${name}, for replay`, SourceArn: sourceArn, RetentionDays: retentionDays } };
    // A bus named here is created by the stack (the eventBridge events do that): the archive must wait for it.
    if (!isArn && name !== 'default') archive.DependsOn = `${busLogicalId(name)}EventBridgeEventBus`;
    return archive;
  },
};

/** The logical id the framework gives a bus it creates (naming.getNormalizedResourceName). */
function busLogicalId(name) {
  const n = name.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return n.charAt(0).toUpperCase() + n.slice(1);
}
