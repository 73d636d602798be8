import { APPROVAL_EVENT_TYPE, DEFAULT_APPROVAL_SOURCE, type MeshConfig, type Route } from '../../../shared/core/index.ts';
import { ruleInputTemplate } from '../../../shared/buses/eventbridge/ruleDelivery.ts';
import { serviceBusParameterName } from '../../../shared/buses/servicebus/ssmConnections.ts';

/** A CloudFormation value: a string, or an intrinsic such as `{ 'Fn::Sub': '…' }`. */
export type CfnValue = string | Record<string, unknown>;

export interface IamStatement {
  Effect: 'Allow';
  Action: string[];
  Resource: CfnValue[];
  Condition?: Record<string, unknown>;
}

export interface RulePlan {
  /** Rule name: `<service>-<stage>-<route id>`, cut to EventBridge's 64 characters. */
  name: string;
  description: string;
  /** The route's `match`, unchanged: the rule and the in-process matcher read the same pattern. */
  pattern: Record<string, unknown>;
  /** The target's InputTemplate: `{"meshRoute":"<id>","event":<aws.events.event.json>}`, so the delivery runs this route only. */
  inputTemplate: string;
}

export interface DeployPlan {
  rules: RulePlan[];
  /** Least privilege for the function, without the table and queue statements serverless.yml adds by reference. */
  statements: IamStatement[];
  /** Function timeout: the slowest route's model budget plus the publish margin, within Lambda's 900 s. */
  timeoutSeconds: number;
}

export interface DeployPlanOptions {
  service: string;
  stage: string;
  /** The bus the rules listen on and results without a destination go back to: a name or an ARN. */
  eventBus: string;
  publishMarginMs?: number;
}

/** Bedrock inference profile ids start with their geography: `eu.anthropic…`, `us.…`, `global.…`. */
const PROFILE = /^(us|eu|apac|us-gov|global|jp|au|ca)\.(.+)$/;

/**
 * What serverless.yml generates from the routes and the catalogue: one rule per route with
 * the route's own pattern, and IAM statements that name exactly the Bedrock models and
 * inference profiles of the catalogue and the buses results go to.
 *
 * @example
 * const plan = deployPlan(config, routes, { service: 'nearmesh', stage: 'dev', eventBus: 'default' });
 * plan.rules[0].pattern // the first route's match, as written in its file
 */
export function deployPlan(config: MeshConfig, routes: Route[], options: DeployPlanOptions): DeployPlan {
  const rules = routes.map((r) => ({
    name: `${options.service}-${options.stage}-${r.id}`.slice(0, 64),
    description: (r.description ?? `nearmesh route ${r.id}`).slice(0, 512),
    pattern: r.match,
    inputTemplate: ruleInputTemplate(r.id),
  }));
  // Approval events reach the function by a rule of their own, from the approvals source only
  // (the pipeline checks the source again). The whole event is the input: it runs no route.
  if (routes.some((r) => r.approval === 'required')) {
    rules.push({
      name: `${options.service}-${options.stage}-approvals`.slice(0, 64),
      description: 'nearmesh approval events: approve or reject held results',
      pattern: { source: [config.approvals?.source ?? DEFAULT_APPROVAL_SOURCE], 'detail-type': [APPROVAL_EVENT_TYPE] },
      inputTemplate: '<aws.events.event.json>',
    });
  }
  const statements: IamStatement[] = [];
  const direct: CfnValue[] = [];
  const viaProfile: IamStatement[] = [];
  for (const m of config.models.filter((m) => m.provider === 'bedrock')) {
    const region = m.region ?? '${AWS::Region}';
    const profile = PROFILE.exec(m.model);
    if (!profile) {
      direct.push({ 'Fn::Sub': `arn:\${AWS::Partition}:bedrock:${region}::foundation-model/${m.model}` });
      continue;
    }
    const profileArn = { 'Fn::Sub': `arn:\${AWS::Partition}:bedrock:${region}:\${AWS::AccountId}:inference-profile/${m.model}` };
    direct.push(profileArn);
    // A profile routes to the foundation model in any region of its geography; allowed only through this profile.
    viaProfile.push({
      Effect: 'Allow',
      Action: ['bedrock:InvokeModel'],
      Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:bedrock:*::foundation-model/${profile[2]}` }],
      Condition: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn } },
    });
  }
  if (direct.length > 0) statements.push({ Effect: 'Allow', Action: ['bedrock:InvokeModel'], Resource: unique(direct) });
  statements.push(...viaProfile);
  const buses = [busArn(options.eventBus, undefined)];
  for (const d of Object.values(config.destinations)) {
    if (d.kind === 'eventbridge') buses.push(busArn(d.bus ?? 'default', d.region));
  }
  statements.push({ Effect: 'Allow', Action: ['events:PutEvents'], Resource: unique(buses) });
  // Claim checks: writing result objects under each destination's prefix, nothing else of the bucket.
  const claimChecks = Object.values(config.destinations)
    .filter((d) => d.kind === 'eventbridge' && d.claimCheck)
    .map((d) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${d.claimCheck!.bucket}/${d.claimCheck!.prefix ?? ''}*` }));
  if (claimChecks.length > 0) statements.push({ Effect: 'Allow', Action: ['s3:PutObject'], Resource: unique(claimChecks) });
  // Cross-cloud results: the connection string of each Service Bus namespace a route publishes
  // to, one SecureString parameter each (ssmServiceBusConnections reads exactly these).
  const parameters = Object.values(config.destinations)
    .filter((d) => d.kind === 'servicebus' && d.namespace)
    .map((d) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${serviceBusParameterName(d.namespace!)}` }));
  if (parameters.length > 0) statements.push({ Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: unique(parameters) });
  const slowest = Math.max(0, ...routes.map((r) => r.task.timeoutMs));
  const timeoutSeconds = Math.min(900, Math.ceil((slowest + (options.publishMarginMs ?? 3000)) / 1000) + 2);
  return { rules, statements, timeoutSeconds };
}

function busArn(bus: string, region: string | undefined): CfnValue {
  if (bus.startsWith('arn:')) return bus;
  return { 'Fn::Sub': `arn:\${AWS::Partition}:events:${region ?? '${AWS::Region}'}:\${AWS::AccountId}:event-bus/${bus}` };
}

function unique(values: CfnValue[]): CfnValue[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = JSON.stringify(v);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
