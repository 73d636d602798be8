import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMeshConfig, loadRoutes } from '../../../shared/config/index.ts';
import type { MeshConfig } from '../../../shared/core/catalogue.ts';
import { configIssues, MINIMAL_MESH, MINIMAL_ROUTE, tempTree } from './tempFiles.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'config');

async function routesIn(files: Record<string, string>): Promise<{ dir: string; config: MeshConfig }> {
  const root = await tempTree({ 'mesh.yaml': MINIMAL_MESH, ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`routes/${k}`, v])) });
  return { dir: join(root, 'routes'), config: await loadMeshConfig(join(root, 'mesh.yaml')) };
}

describe('loadRoutes', () => {
  it('loads a route with defaults filled and its output schema read through $ref', async () => {
    const config = await loadMeshConfig(join(FIXTURES, 'mesh.yaml'));
    const dir = join(FIXTURES, 'routes');

    const [route, ...rest] = await loadRoutes(dir, config);

    expect(rest).toEqual([]);
    expect(route?.file).toBe(join(dir, 'scored.yaml'));
    expect(route?.data).toEqual({ classification: 'public', location: 'onprem:fra-dc1' });
    expect(route?.task).toMatchObject({ maxTokens: 200, temperature: 0, models: ['sim-us'], timeoutMs: 20000, attemptsPerEndpoint: 2 });
    expect(route?.task.output).toMatchObject({ type: 'object', required: ['score', 'level'] });
    expect(route?.emit).toEqual({ source: 'nearmesh.scored', detailType: 'OrderScored', to: ['results-bus'] });
  });

  it('validates model answers, with messages that name the path in the answer', async () => {
    const [route] = await loadRoutes(join(FIXTURES, 'routes'), await loadMeshConfig(join(FIXTURES, 'mesh.yaml')));

    expect(route?.task.validateOutput({ score: 40, level: 'low' })).toEqual([]);
    expect(route?.task.validateOutput({ score: 120, level: 'mid', dueDate: 'soon', extra: true })).toEqual([
      '/: must NOT have additional properties ("extra")',
      '/score: must be <= 100',
      '/level: must be one of "low" | "high"',
      '/dueDate: must match format "date"',
    ]);
  });

  it('loads one route per yaml file, sorted by file name, ignoring other files', async () => {
    const { dir, config } = await routesIn({
      'b.yml': MINIMAL_ROUTE.replace('id: r1', 'id: b'),
      'a.yaml': MINIMAL_ROUTE.replace('id: r1', 'id: a'),
      'README.md': '# not a route',
    });

    const routes = await loadRoutes(dir, config);

    expect(routes.map((r) => [r.id, r.file])).toEqual([
      ['a', join(dir, 'a.yaml')],
      ['b', join(dir, 'b.yml')],
    ]);
  });

  it('names an unknown task key with a did-you-mean and its line', async () => {
    const { dir, config } = await routesIn({ 'r1.yaml': MINIMAL_ROUTE.replace('maxTokens: 100', 'maxToken: 100') });

    const issues = await configIssues(loadRoutes(dir, config));

    expect(issues).toEqual([
      { file: join(dir, 'r1.yaml'), path: 'task.maxTokens', message: 'missing: expected a number', line: 7, column: 3 },
      { file: join(dir, 'r1.yaml'), path: 'task.maxToken', message: 'unknown key "maxToken" (did you mean "maxTokens"?)', line: 13, column: 3 },
    ]);
  });

  it('rejects references to a classification, model or destination that mesh.yaml does not declare', async () => {
    const route = MINIMAL_ROUTE.replace('classification: public', 'classification: secretive')
      .replace('  maxTokens: 100\n', '  maxTokens: 100\n  models: [sim-a, sim-b]\n')
      .replace('detailType: Scored\n', 'detailType: Scored\n  to: [local, lokal]\n');
    const { dir, config } = await routesIn({ 'r1.yaml': route });

    const issues = await configIssues(loadRoutes(dir, config));

    expect(issues.map((i) => `${i.path}@${i.line}: ${i.message}`)).toEqual([
      `data.classification@5: unknown classification "secretive": expected one of public | pii from ${config.file}`,
      `task.models[1]@14: unknown model "sim-b" (did you mean "sim-a"?): expected one of sim-a from ${config.file}`,
      `emit.to[1]@18: unknown destination "lokal" (did you mean "local"?): expected one of local from ${config.file}`,
    ]);
  });

  it('still checks references and templates when the file also has shape errors', async () => {
    const route = MINIMAL_ROUTE.replace('maxTokens: 100', 'maxTokens: many').replace('classification: public', 'classification: publik');
    const { dir, config } = await routesIn({ 'r1.yaml': route });

    const issues = await configIssues(loadRoutes(dir, config));

    expect(issues.map((i) => i.path)).toEqual(['data.classification', 'task.maxTokens']);
    expect(issues[0]?.message).toContain('(did you mean "public"?)');
  });

  it('reports a pattern the rules reject at its path under match', async () => {
    const { dir, config } = await routesIn({ 'r1.yaml': MINIMAL_ROUTE.replace('source: [com.acme.orders]', 'source: [{ wildcard: "com.**" }]') });

    const [issue, ...rest] = await configIssues(loadRoutes(dir, config));

    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ path: 'match.source[0].wildcard', line: 3 });
    expect(issue?.message).toContain('consecutive wildcard characters ("**") are not allowed');
  });

  it('rejects malformed template slots, quoting the slot', async () => {
    const route = MINIMAL_ROUTE.replace('prompt: "Order {{detail.orderId}}"', 'prompt: "Order {{detial.orderId}} {{}}"').replace(
      '  classification: public\n',
      '  classification: public\n  location: "aws:{{region}"\n',
    );
    const { dir, config } = await routesIn({ 'r1.yaml': route });

    const issues = await configIssues(loadRoutes(dir, config));

    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'data.location: unbalanced braces: "{{" at "aws:{{region}" is not closed by "}}"',
      'task.prompt: slot "{{detial.orderId}}" must start with one of version | id | detail-type | source | account | time | region | resources | detail, got "detial"',
      'task.prompt: slot "{{}}" is empty: expected a path such as detail.orderId',
    ]);
  });

  it('rejects a fixed location that is not <cloud>:<region> or a known on-prem site', async () => {
    const at = (location: string) => MINIMAL_ROUTE.replace('  classification: public\n', `  classification: public\n  location: ${location}\n`);
    const { dir, config } = await routesIn({ 'r1.yaml': at('eu-central-1'), 'r2.yaml': at('onprem:ber-dc9').replace('id: r1', 'id: r2') });

    const issues = await configIssues(loadRoutes(dir, config));

    expect(issues.map((i) => i.message)).toEqual([
      'expected <cloud>:<region> (aws:eu-central-1, azure:westeurope) or onprem:<site>, got "eu-central-1"',
      `unknown site "ber-dc9": expected one of (none declared) from ${config.file} sites`,
    ]);
  });

  it('requires the id to match the file name and to be unique across files', async () => {
    const { dir, config } = await routesIn({
      'r1.yaml': MINIMAL_ROUTE,
      'r1.yml': MINIMAL_ROUTE,
      'other.yaml': MINIMAL_ROUTE,
    });

    const issues = await configIssues(loadRoutes(dir, config));

    expect(issues.map((i) => `${i.file.slice(dir.length + 1)} ${i.path}@${i.line}: ${i.message}`)).toEqual([
      'other.yaml id@1: expected "other" to match the file name (so a route is found by its id), got "r1"',
      `r1.yml id@1: duplicate route id "r1": already used by ${join(dir, 'r1.yaml')}`,
    ]);
  });

  it('rejects secret-looking keys but not event fields named like secrets in match or output', async () => {
    const route = MINIMAL_ROUTE.replace('  source: [com.acme.orders]\n', '  source: [com.acme.orders]\n  detail: { token: [{ exists: false }] }\n').replace(
      'emit:\n',
      'emit:\n  password: hunter2\n',
    );
    const { dir, config } = await routesIn({ 'r1.yaml': route });

    const issues = await configIssues(loadRoutes(dir, config));

    expect(issues).toEqual([expect.objectContaining({ path: 'emit.password', line: 16, column: 3 })]);
    expect(issues[0]?.message).toMatch(/^"password" looks like a secret, and secrets never live in config: remove it and set it in the environment/);
  });

  it('reports an output schema that is not a valid JSON Schema, or not an object schema, at its path', async () => {
    const badType = MINIMAL_ROUTE.replace('score: { type: integer, minimum: 0, maximum: 100 }', 'score: { type: integr }');
    const notObject = MINIMAL_ROUTE.replace('id: r1', 'id: r2').replace('    type: object\n', '    type: array\n');
    const typo = MINIMAL_ROUTE.replace('id: r1', 'id: r3').replace('maximum: 100', 'maximun: 100');
    const { dir, config } = await routesIn({ 'r1.yaml': badType, 'r2.yaml': notObject, 'r3.yaml': typo });

    const issues = await configIssues(loadRoutes(dir, config));

    expect(issues.map((i) => `${i.path}@${i.line}`)).toEqual(['task.output.properties.score.type@11', 'task.output.type@9', 'task.output.properties.score.maximun@11']);
    expect(issues[0]?.message).toMatch(/^not a valid JSON Schema: must be one of "array" \| "boolean" \| "integer"/);
    expect(issues[1]?.message).toBe('expected "object" (a model answer is a JSON object), got "array"');
    expect(issues[2]?.message).toContain('unknown keyword: "maximun"');
  });

  it('reports a problem inside a $ref schema file against that file, and a missing $ref file against the route', async () => {
    const route = (id: string, ref: string) => MINIMAL_ROUTE.replace('id: r1', `id: ${id}`).replace(/ {2}output:\n(?: {4}.*\n)+/, `  output: { $ref: ${ref} }\n`);
    const root = await tempTree({
      'mesh.yaml': MINIMAL_MESH,
      'routes/r1.yaml': route('r1', '../schemas/bad.json'),
      'routes/r2.yaml': route('r2', '../schemas/missing.json'),
      'schemas/bad.json': '{\n  "type": "object",\n  "properties": { "score": { "minimum": "zero" } }\n}\n',
    });
    const config = await loadMeshConfig(join(root, 'mesh.yaml'));

    const issues = await configIssues(loadRoutes(join(root, 'routes'), config));

    expect(issues.map((i) => `${i.file.slice(root.length + 1)} ${i.path}@${i.line}`)).toEqual([
      'schemas/bad.json properties.score.minimum@3',
      'routes/r2.yaml task.output.$ref@8',
    ]);
    expect(issues[0]?.message).toMatch(/^not a valid JSON Schema: must be number \(output schema of route r1\)$/);
    expect(issues[1]?.message).toMatch(/^cannot load output schema \.\.\/schemas\/missing\.json: file not found/);
  });

  it('says how to fix a missing routes directory', async () => {
    const config = await loadMeshConfig(join(FIXTURES, 'mesh.yaml'));

    const issues = await configIssues(loadRoutes(join(FIXTURES, 'no-such-dir'), config));

    expect(issues[0]?.message).toBe('routes directory not found: create it (one <route-id>.yaml per route) or pass --routes <dir>');
  });
});
