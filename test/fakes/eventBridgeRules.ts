import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { matchesPattern } from '../../shared/rules/index.ts';

/*
 * EventBridge as the packaged stack configures it: the rules and targets are read from the
 * CloudFormation `osls package` generates (never restated by the test), each rule's pattern
 * is evaluated per event, and each matching rule's targets get their input rendered the way
 * EventBridge renders it: the whole event, `Input`, `InputPath`, or an `InputTransformer`
 * (InputPathsMap + InputTemplate with the predefined `aws.events.*` variables).
 */

export type CfnValue = unknown;
export interface CfnResource {
  Type: string;
  Properties?: Record<string, CfnValue>;
  DependsOn?: unknown;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

/** The event as the bus holds it and a rule sees it. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface InputTransformer {
  InputPathsMap?: Record<string, string>;
  InputTemplate: string;
}

export interface RuleTarget {
  id: string;
  /** The target's Arn as written in the template (e.g. `Fn::GetAtt: [OnEventLambdaFunction, Arn]`). */
  arn: CfnValue;
  input?: string;
  inputPath?: string;
  inputTransformer?: InputTransformer;
}

export interface BusRule {
  logicalId: string;
  name: string;
  /** The bus name the rule listens on. */
  bus: string;
  arn: string;
  enabled: boolean;
  pattern: Record<string, unknown>;
  targets: RuleTarget[];
}

export interface PackageOptions {
  /** The repository (where serverless.yml and package.json are). */
  repo: string;
  /** Where the packaged artifacts go. */
  out: string;
  stage: string;
  /** MESH_CONFIG, MESH_ROUTES_DIR, MESH_EVENT_BUS… */
  env: Record<string, string>;
}

/**
 * Package the stack with the project's own script (`npm run package:aws`, osls, offline with
 * fake credentials) and read back the CloudFormation it would deploy.
 *
 * @example
 * const template = await packageStack({ repo, out, stage: 'ci', env: { MESH_CONFIG, MESH_ROUTES_DIR, MESH_EVENT_BUS: 'chaos-ingress' } });
 */
export async function packageStack(options: PackageOptions): Promise<CfnTemplate> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await promisify(execFile)(npm, ['run', '--silent', 'package:aws', '--', '--stage', options.stage, '--package', options.out], {
    cwd: options.repo,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
      AWS_SECRET_ACCESS_KEY: 'chaos-package-secret',
      AWS_REGION: 'us-east-1',
      AWS_PROFILE: '',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      ...options.env,
    },
    timeout: 150_000,
  });
  return JSON.parse(await readFile(join(options.out, 'cloudformation-template-update-stack.json'), 'utf8')) as CfnTemplate;
}

/** Every `AWS::Events::Rule` of the template, with its pattern and targets as written. */
export function rulesOf(template: CfnTemplate, where: { region: string; account: string }): BusRule[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Events::Rule')
    .map(([logicalId, r]) => {
      const p = r.Properties ?? {};
      const name = typeof p.Name === 'string' ? p.Name : logicalId;
      const bus = typeof p.EventBusName === 'string' ? p.EventBusName : 'default';
      const pattern = typeof p.EventPattern === 'string' ? (JSON.parse(p.EventPattern) as Record<string, unknown>) : (p.EventPattern as Record<string, unknown>);
      const targets = ((p.Targets ?? []) as Record<string, unknown>[]).map((t) => ({
        id: String(t.Id),
        arn: t.Arn,
        ...(typeof t.Input === 'string' ? { input: t.Input } : {}),
        ...(typeof t.InputPath === 'string' ? { inputPath: t.InputPath } : {}),
        ...(t.InputTransformer ? { inputTransformer: t.InputTransformer as InputTransformer } : {}),
      }));
      const arn = bus === 'default' ? `arn:aws:events:${where.region}:${where.account}:rule/${name}` : `arn:aws:events:${where.region}:${where.account}:rule/${bus}/${name}`;
      return { logicalId, name, bus, arn, enabled: p.State === undefined || p.State === 'ENABLED', pattern, targets };
    });
}

/** Does the rule take this event (its bus, enabled, its pattern)? The repo's matcher stands in for EventBridge's. */
export function ruleMatches(rule: BusRule, bus: string, event: BusEvent): boolean {
  return rule.enabled && rule.bus === bus && matchesPattern(rule.pattern, event);
}

/**
 * The input EventBridge sends a target for an event: the event itself with no input
 * settings; `Input` as constant JSON; `InputPath` the selected part; `InputTransformer` the
 * template with its variables substituted (see `renderInputTemplate`).
 */
export function renderTargetInput(rule: BusRule, target: RuleTarget, event: BusEvent, ingestionTime: string): unknown {
  if (target.input !== undefined) return JSON.parse(target.input);
  if (target.inputPath !== undefined) return jsonPath(event, target.inputPath) ?? null;
  if (!target.inputTransformer) return event;
  const vars: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(target.inputTransformer.InputPathsMap ?? {})) vars[name] = jsonPath(event, path);
  const withoutDetail: Record<string, unknown> = { ...event };
  delete withoutDetail.detail;
  vars['aws.events.rule-name'] = rule.name;
  vars['aws.events.rule-arn'] = rule.arn;
  vars['aws.events.event'] = withoutDetail;
  vars['aws.events.event.json'] = event;
  vars['aws.events.event.ingestion-time'] = ingestionTime;
  const text = renderInputTemplate(target.inputTransformer.InputTemplate, vars);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`rule ${rule.name} target ${target.id}: the InputTemplate renders text that is not JSON, which a Lambda target cannot take: ${text.slice(0, 200)}`, { cause: err });
  }
}

/**
 * Substitute `<name>` placeholders as EventBridge does: inside a JSON string a string value
 * goes in raw with its quotes and backslashes escaped (other values as escaped JSON text);
 * outside quotes every value goes in as JSON (a string gets its quotes; an object, such as
 * `<aws.events.event.json>`, unescaped). A missing path renders as `null` outside quotes and
 * nothing inside them. Placeholders that name no variable are left as they are.
 *
 * @example
 * renderInputTemplate('{"route":"r1","msg":"<who> said \\"hi\\"","event":<aws.events.event.json>}', { who: 'Ann "A"', 'aws.events.event.json': { id: '1' } })
 * // '{"route":"r1","msg":"Ann \\"A\\" said \\"hi\\"","event":{"id":"1"}}'
 */
export function renderInputTemplate(template: string, vars: Record<string, unknown>): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (inString && ch === '\\') {
      out += ch + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"') {
      inString = !inString;
      out += ch;
      continue;
    }
    if (ch === '<') {
      const m = /^<([A-Za-z0-9_.-]+)>/.exec(template.slice(i));
      if (m && Object.hasOwn(vars, m[1]!)) {
        const value = vars[m[1]!];
        if (inString) out += value === undefined ? '' : JSON.stringify(typeof value === 'string' ? value : JSON.stringify(value)).slice(1, -1);
        else out += value === undefined ? 'null' : JSON.stringify(value);
        i += m[0].length - 1;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

/** The JSONPath subset EventBridge takes in InputPath and InputPathsMap: `$`, `$.a.b`, `$.a[0]`, `$['a-b']`. */
export function jsonPath(doc: unknown, path: string): unknown {
  if (!path.startsWith('$')) throw new Error(`not a JSONPath: ${path}`);
  const steps: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]/g;
  let m: RegExpExecArray | null;
  let at = 1;
  while ((m = re.exec(path)) !== null) {
    if (m.index !== at) throw new Error(`unsupported JSONPath: ${path}`);
    steps.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
    at = re.lastIndex;
  }
  if (at !== path.length) throw new Error(`unsupported JSONPath: ${path}`);
  let value: unknown = doc;
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[step];
  }
  return value;
}
