import { readdir } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { ConfigError, InvalidPatternError, type ConfigIssue } from '../core/errors.ts';
import type { MeshConfig } from '../core/catalogue.ts';
import type { Route, RouteBudget } from '../core/route.ts';
import { validatePattern } from '../rules/index.ts';
import { checkTemplate } from './checkTemplate.ts';
import { oneOf, type PathSegment } from './describe.ts';
import { didYouMean } from './didYouMean.ts';
import { compileOutputSchema } from './outputSchema.ts';
import { routeSchema } from './routeSchema.ts';
import { reportSecrets } from './secrets.ts';
import { readYamlSource, type YamlSource } from './YamlSource.ts';
import { parseWith } from './zodIssues.ts';

/**
 * Load every route in `dir` (one per `*.yaml` / `*.yml` file, in file-name order) and check
 * it against the config: classification, model allowlist and destinations must exist, the
 * pattern and templates must be well formed, the output schema must compile. Every problem in
 * every file is collected and thrown as one ConfigError.
 *
 * @example
 * const routes = await loadRoutes('events/routes', await loadMeshConfig('mesh.yaml'));
 * routes[0].task.validateOutput({ score: 120 }) // → ['/score: must be <= 100', …]
 * @throws ConfigError naming file, path, line and what was expected.
 */
export async function loadRoutes(dir: string, config: MeshConfig): Promise<Route[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (cause) {
    throw new ConfigError([{ file: dir, path: '', message: 'routes directory not found: create it (one <route-id>.yaml per route) or pass --routes <dir>' }], { cause });
  }
  const issues: ConfigIssue[] = [];
  const routes: Route[] = [];
  const firstFile = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    let source: YamlSource;
    try {
      source = await readYamlSource(file, 'the file disappeared while loading');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues.push(...err.issues);
      continue;
    }
    const schemaIssues: ConfigIssue[] = [];
    const route = await loadRoute(source, config, schemaIssues);
    issues.push(...source.issuesInOrder(), ...schemaIssues);
    if (route === undefined) continue;
    const first = firstFile.get(route.id);
    if (first !== undefined) {
      issues.push({ file, path: 'id', message: `duplicate route id "${route.id}": already used by ${first}`, ...source.locate(['id']) });
      continue;
    }
    firstFile.set(route.id, file);
    routes.push(route);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return routes;
}

/**
 * Load one route file on its own, e.g. a fixed copy of a route for `mesh replay
 * --route-override`. Same checks as `loadRoutes`, except that the file may be named
 * differently from the id (a fixed copy usually is).
 *
 * @example const fixed = await loadRouteFile('order-risk.fixed.yaml', config);
 * @throws ConfigError naming file, path, line and what was expected.
 */
export async function loadRouteFile(file: string, config: MeshConfig): Promise<Route> {
  const source = await readYamlSource(file, 'route file not found: check the path');
  const schemaIssues: ConfigIssue[] = [];
  const route = await loadRoute(source, config, schemaIssues, { idMatchesFileName: false });
  const issues = [...source.issuesInOrder(), ...schemaIssues];
  if (issues.length > 0 || route === undefined) throw new ConfigError(issues);
  return route;
}

async function loadRoute(
  source: YamlSource,
  config: MeshConfig,
  schemaIssues: ConfigIssue[],
  { idMatchesFileName = true } = {},
): Promise<Route | undefined> {
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    source.report([], 'expected a route: a mapping with id, match, data, task and emit');
    return undefined;
  }
  // Keys under match and task.output name event and answer fields, not settings.
  const secrets = reportSecrets(source, { exempt: [['match'], ['task', 'output']], hint: () => 'set it in the environment, where the adapter that needs it reads it' });
  const file = parseWith(routeSchema, source, source.data, secrets);

  // The checks below also run when the shape check failed, on whatever fields have the right
  // type, so that one `mesh validate` lists every problem in the file.
  const loose = looseRoute(source.data as Record<string, unknown>);
  if (loose.id !== undefined && idMatchesFileName) checkId(source, loose.id);
  if (loose.match !== undefined) checkPattern(source, loose.match);
  checkReferences(source, loose, config);
  for (const field of ['system', 'prompt'] as const) {
    for (const problem of checkTemplate(loose.task[field] ?? '')) source.report(['task', field], problem);
  }
  if (loose.location !== undefined) checkLocation(source, loose.location, config);
  const validateOutput = loose.task.output === undefined ? undefined : await loadOutputSchema(source, loose.id ?? '?', loose.task.output, schemaIssues);
  if (file === undefined || validateOutput === undefined || source.issues.length > 0) return undefined;

  const { system, temperature, models, ...limits } = file.task;
  return {
    id: file.id,
    file: source.file,
    ...(file.description === undefined ? {} : { description: file.description }),
    match: file.match,
    data: {
      classification: file.data.classification,
      ...(file.data.location === undefined ? {} : { location: file.data.location }),
      ...(file.data.trustEventLocation === undefined ? {} : { trustEventLocation: file.data.trustEventLocation }),
    },
    task: {
      ...(system === undefined ? {} : { system }),
      prompt: limits.prompt,
      output: validateOutput.schema,
      validateOutput: validateOutput.validate,
      maxTokens: limits.maxTokens,
      ...(temperature === undefined ? {} : { temperature }),
      ...(models === undefined ? {} : { models }),
      timeoutMs: limits.timeoutMs,
      attemptsPerEndpoint: limits.attemptsPerEndpoint,
      ...(limits.budget === undefined ? {} : { budget: budgetOf(limits.budget) }),
    },
    emit: file.emit,
    ...(file.approval === 'required' ? { approval: 'required' as const } : {}),
    ...(file.approvalShowsOutput === undefined ? {} : { approvalShowsOutput: file.approvalShowsOutput }),
  };
}

/** The budget without the keys the file left out (so `undefined` never reaches a snapshot). */
function budgetOf(b: { tokens?: number | undefined; costUsd?: number | undefined; per: RouteBudget['per'] }): RouteBudget {
  return { ...(b.tokens === undefined ? {} : { tokens: b.tokens }), ...(b.costUsd === undefined ? {} : { costUsd: b.costUsd }), per: b.per };
}

function checkId(source: YamlSource, id: string): void {
  const expected = basename(source.file, extname(source.file));
  if (id !== expected) source.report(['id'], `expected "${expected}" to match the file name (so a route is found by its id), got "${id}"`);
}

function checkPattern(source: YamlSource, match: Record<string, unknown>): void {
  try {
    validatePattern(match);
  } catch (err) {
    if (!(err instanceof InvalidPatternError)) throw err;
    const inner = err.path ? err.message.replace(`${err.path}: `, '') : err.message;
    source.report(['match', ...patternPath(err.path)], inner);
  }
}

/** `detail.items[0].sku` → ['detail', 'items', 0, 'sku']. */
function patternPath(path: string): PathSegment[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] === undefined ? (m[1] ?? '') : Number(m[2])));
}

/** The fields of a route file that have the expected type, whatever else is wrong with it. */
interface LooseRoute {
  id?: string;
  match?: Record<string, unknown>;
  classification?: string;
  location?: string;
  task: { system?: string; prompt?: string; output?: Record<string, unknown>; models?: unknown[] };
  to?: unknown[];
}

function looseRoute(raw: Record<string, unknown>): LooseRoute {
  const obj = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const list = (v: unknown) => (Array.isArray(v) ? (v as unknown[]) : undefined);
  const data = obj(raw.data) ?? {};
  const task = obj(raw.task) ?? {};
  return {
    id: str(raw.id),
    match: obj(raw.match),
    classification: str(data.classification),
    location: str(data.location),
    task: { system: str(task.system), prompt: str(task.prompt), output: obj(task.output), models: list(task.models) },
    to: list(obj(raw.emit)?.to),
  };
}

function checkReferences(source: YamlSource, route: LooseRoute, config: MeshConfig): void {
  const mustExist = (path: PathSegment[], value: unknown, known: string[], what: string) => {
    if (typeof value !== 'string' || known.includes(value)) return;
    const guess = didYouMean(value, known);
    source.report(path, `unknown ${what} "${value}"${guess ? ` (did you mean "${guess}"?)` : ''}: expected one of ${oneOf(known) || '(none declared)'} from ${config.file}`);
  };
  mustExist(['data', 'classification'], route.classification, Object.keys(config.residency), 'classification');
  const modelIds = config.models.map((m) => m.id);
  route.task.models?.forEach((id, i) => mustExist(['task', 'models', i], id, modelIds, 'model'));
  route.to?.forEach((name, i) => mustExist(['emit', 'to', i], name, Object.keys(config.destinations), 'destination'));
}

function checkLocation(source: YamlSource, location: string, config: MeshConfig): void {
  const problems = checkTemplate(location);
  for (const problem of problems) source.report(['data', 'location'], problem);
  if (problems.length > 0 || location.includes('{{')) return;
  const m = /^(aws|azure|onprem):(.+)$/.exec(location);
  if (!m) {
    source.report(['data', 'location'], `expected <cloud>:<region> (aws:eu-central-1, azure:westeurope) or onprem:<site>, got "${location}"`);
  } else if (m[1] === 'onprem' && !((m[2] ?? '') in config.sites)) {
    const sites = Object.keys(config.sites);
    source.report(['data', 'location'], `unknown site "${m[2]}": expected one of ${oneOf(sites) || '(none declared)'} from ${config.file} sites`);
  }
}

async function loadOutputSchema(
  source: YamlSource,
  routeId: string,
  output: Record<string, unknown>,
  schemaIssues: ConfigIssue[],
): Promise<{ schema: Record<string, unknown>; validate: (value: unknown) => string[] } | undefined> {
  const ref = output.$ref;
  let schemaSource: YamlSource | undefined;
  let prefix: PathSegment[] = ['task', 'output'];
  let schema = output;
  if (typeof ref === 'string' && !ref.startsWith('#')) {
    if (Object.keys(output).length > 1) {
      source.report(['task', 'output'], 'expected either an inline schema or { $ref: <file> } alone, got $ref with other keys');
      return undefined;
    }
    const refFile = join(dirname(source.file), ref);
    try {
      schemaSource = await readYamlSource(refFile, `$ref is resolved relative to the route file (${resolve(refFile)})`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const first = err.issues[0];
      source.report(['task', 'output', '$ref'], `cannot load output schema ${ref}: ${first?.message ?? err.message}`);
      return undefined;
    }
    if (schemaSource.data === null || typeof schemaSource.data !== 'object' || Array.isArray(schemaSource.data)) {
      schemaSource.report([], `expected a JSON Schema object (output schema of route ${routeId})`);
      schemaIssues.push(...schemaSource.issues);
      return undefined;
    }
    schema = schemaSource.data as Record<string, unknown>;
    prefix = [];
  }
  const compiled = compileOutputSchema(schema);
  if ('problems' in compiled) {
    for (const p of compiled.problems) {
      if (schemaSource) schemaSource.report(p.path, `${p.message} (output schema of route ${routeId})`);
      else source.report([...prefix, ...p.path], p.message);
    }
    if (schemaSource) schemaIssues.push(...schemaSource.issues);
    return undefined;
  }
  return { schema, validate: compiled.validate };
}
