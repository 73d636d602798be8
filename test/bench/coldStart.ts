/**
 * Lambda bundle size and cold start of issue #6, run by `npm run bench` (or alone:
 * `npx tsx test/bench/coldStart.ts`).
 *
 * Two bundles are built with serverless.yml's `custom.esbuild` settings, read from the file
 * (minified, split into chunks, the createRequire banner, linked source maps): the real
 * handler, and a bare middy handler that creates the same three SDK clients (EventBridge,
 * DynamoDB, Bedrock Runtime) and returns. The bare handler is built a second time as bundles
 * were before (not minified or split, packages' CommonJS builds): issue #6's reference. Each
 * cold start is a fresh node process with the function's environment as deployed (serverless.yml's
 * variables, NODE_OPTIONS=--enable-source-maps among them, and the Lambda runtime's); in it we time
 * `import()` of the bundle, then the first invocation: for the handler, building the mesh from
 * the repo's mesh.yaml and routes and running an event that matches no route, so no network
 * call is made; for the baseline, its empty body. The handler runs as packaged: from a task
 * root holding mesh.yaml, the routes and schemas and the snapshot the packaging step writes
 * (mesh.compiled.json, written here by the same writer), and once more with MESH_CONFIG set,
 * which loads and validates the files at start as before the snapshot. Runs alternate between
 * the bundles so all see the same machine; figures are medians and the handler/baseline ratios.
 *
 * Options: BENCH_COLD_RUNS (default 8).
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { parse } from 'yaml';
import { BUNDLED_CONFIG, BUNDLED_ROUTES_DIR } from '../../functions/aws/meshFromEnv.ts';
import { MESH_SNAPSHOT_FILE } from '../../shared/config/snapshot/index.ts';
import { writeMeshSnapshot } from '../../shared/config/snapshot/writeMeshSnapshot.ts';
import { bedrockToolAnswer } from '../fakes/bedrockFake.ts';
import { functionPackage, sampleOrder, startAwsFakes, type AwsFakes } from '../fakes/lambdaPackage.ts';

const REPO = join(import.meta.dirname, '..', '..');

// serverless-esbuild's own options, which are not esbuild's (it strips them before building).
const PLUGIN_ONLY = new Set(['exclude', 'external', 'outputFileExtension', 'packager', 'packagerOptions', 'nativeZip', 'concurrency', 'zipConcurrency', 'keepOutputDirectory', 'config']);

interface ServerlessYml {
  custom: { esbuild: Record<string, unknown> };
  provider: { environment: Record<string, unknown> };
}

// CloudFormation's !Ref, read as a marker: its value exists only once the stack is deployed.
const REF = { tag: '!Ref', resolve: (name: string) => ({ Ref: name }) };
const readServerlessYml = async () => parse(await readFile(join(REPO, 'serverless.yml'), 'utf8'), { customTags: [REF], logLevel: 'error' }) as ServerlessYml;

/** serverless.yml → custom.esbuild as serverless-esbuild hands it to esbuild (the plugin adds the entry and outdir). */
function lambdaEsbuildOptions(yml: ServerlessYml): BuildOptions {
  const plugin = yml.custom.esbuild;
  const options = Object.fromEntries(Object.entries(plugin).filter(([k]) => !PLUGIN_ONLY.has(k))) as BuildOptions;
  const ext = plugin.outputFileExtension as string | undefined;
  return { ...options, ...(ext && ext !== '.js' ? { outExtension: { '.js': ext } } : {}), metafile: true, logLevel: 'error' };
}

// What the deployed stack puts in place of serverless.yml's references (a table name, a queue URL).
const DEPLOYED_VALUES: Record<string, string> = {
  MESH_EVENT_BUS: 'nearmesh-bench',
  MESH_IDEMPOTENCY_TABLE: 'nearmesh-bench-idempotency',
  MESH_COUNTERS_TABLE: 'nearmesh-bench-counters',
  MESH_FAILURE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/nearmesh-bench-failures',
};

/**
 * The function's environment as deployed: serverless.yml's `provider.environment` (NODE_OPTIONS
 * included), references replaced by DEPLOYED_VALUES, plus what the Lambda runtime itself sets.
 * A variable added to serverless.yml without a value here fails the bench rather than be skipped.
 */
function deployedEnvironment(yml: ServerlessYml): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'ASIAFAKEFAKEFAKE0000',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_SESSION_TOKEN: 'bench-session-token',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: 'nearmesh-bench-onEvent',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/nearmesh-bench-onEvent',
    AWS_LAMBDA_LOG_STREAM_NAME: 'bench',
    TZ: ':UTC',
  };
  for (const [name, value] of Object.entries(yml.provider.environment)) {
    if (typeof value === 'string' && !value.includes('${')) env[name] = value;
    else if (DEPLOYED_VALUES[name] !== undefined) env[name] = DEPLOYED_VALUES[name];
    else throw new Error(`serverless.yml provider.environment.${name} is a reference: give the bench a deployed value for it in DEPLOYED_VALUES`);
  }
  return env;
}

const BEDROCK_MODEL = 'openai.gpt-oss-120b-1:0';

// The delivery's catalogue: one Bedrock endpoint in the event's region, the orders bus.
const DELIVERY_MESH_YAML = `
models:
  - { id: bedrock-us-east-1, provider: bedrock, region: us-east-1, model: ${BEDROCK_MODEL} }
residency:
  public: anywhere
  internal: same-geography
  confidential: { cloud: same, geography: same, region: any }
  pii: same-region
destinations:
  orders-bus: { kind: eventbridge, bus: acme-orders, region: us-east-1 }
`;

// Module-scope clients, as a real function would create them; an unused import would be tree-shaken away.
const BASELINE = `
import middy from '@middy/core';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
export const clients = [new EventBridgeClient({}), new DynamoDBClient({}), new BedrockRuntimeClient({})];
export const handler = middy(async () => ({ ok: true }));
`;

// The bare handler doing by hand what a real delivery makes the mesh do: claim the route and
// event in the idempotency table, call the model, publish the answer, complete the claim.
const BASELINE_DELIVERY = `
import middy from '@middy/core';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
const eventBridge = new EventBridgeClient({});
const dynamo = new DynamoDBClient({});
const bedrock = new BedrockRuntimeClient({});
const TableName = process.env.MESH_IDEMPOTENCY_TABLE;
export const handler = middy(async ({ meshRoute, event }) => {
  const Key = { id: { S: meshRoute + '#' + event.id } };
  await dynamo.send(new PutItemCommand({ TableName, Item: { ...Key, status: { S: 'INPROGRESS' } }, ConditionExpression: 'attribute_not_exists(id)' }));
  const answer = await bedrock.send(new ConverseCommand({ modelId: '${BEDROCK_MODEL}', messages: [{ role: 'user', content: [{ text: JSON.stringify(event.detail) }] }] }));
  await eventBridge.send(new PutEventsCommand({ Entries: [{ EventBusName: 'acme-orders', Source: 'nearmesh.' + meshRoute, DetailType: 'OrderRiskScored', Detail: JSON.stringify(answer.output) }] }));
  await dynamo.send(new UpdateItemCommand({ TableName, Key, UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': { S: 'COMPLETED' } } }));
  return { ok: true };
});
`;

// Runs in the child: import, then one invocation with a Lambda context (of BENCH_EVENT when set, else an
// event no route matches); prints one marked line.
const PROBE = `
const t0 = performance.now();
const { handler } = await import(process.argv[2]);
const t1 = performance.now();
const event = process.env.BENCH_EVENT ? JSON.parse(process.env.BENCH_EVENT) : {
  version: '0', id: 'cold-start-probe', 'detail-type': 'BenchNothing', source: 'com.acme.bench',
  account: '123456789012', time: '2026-11-22T08:00:00Z', region: 'us-east-1', resources: [], detail: {},
};
const context = {
  functionName: 'nearmesh-bench-onEvent', functionVersion: '$LATEST', memoryLimitInMB: '512',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:nearmesh-bench-onEvent',
  awsRequestId: 'cold-start-probe', logGroupName: '/aws/lambda/bench', logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 30000,
  done() {}, fail() {}, succeed() {},
};
const result = await handler(event, context);
const t2 = performance.now();
console.log('COLDSTART ' + JSON.stringify({ importMs: t1 - t0, invokeMs: t2 - t1, result }));
`;

interface Sample {
  importMs: number;
  invokeMs: number;
  wallMs: number;
}

/** Bytes of JavaScript: read at init (the entry and the chunks it imports statically), and shipped in all. */
interface BundleBytes {
  init: number;
  total: number;
  initFiles: number;
  totalFiles: number;
}

export interface ColdStartFigures {
  handlerBytes: BundleBytes;
  baselineBytes: BundleBytes;
  /** The handler as packaged: config and routes from the package-time snapshot. */
  handler: Sample;
  /** The same bundle loading and validating mesh.yaml and the routes at start (no snapshot). */
  handlerFromFiles: Sample;
  baseline: Sample;
  /** The baseline bundled with the settings used before the Lambda was made lean. */
  previousBaseline: Sample;
  /** The handler as packaged, given a real delivery: claim, Bedrock Converse, PutEvents, complete (local fakes). */
  handlerDelivery: Sample;
  /** The bare handler making the same four calls with its three clients. */
  baselineDelivery: Sample;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The entry's static import closure (what `import()` of the entry reads) against every JavaScript output. */
function bundleBytes(meta: Metafile, entry: string): BundleBytes {
  const outputs = meta.outputs;
  const js = Object.keys(outputs).filter((f) => !f.endsWith('.map'));
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of outputs[file]!.imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(entry);
  const sum = (files: Iterable<string>) => [...files].reduce((n, f) => n + outputs[f]!.bytes, 0);
  return { init: sum(seen), total: sum(js), initFiles: seen.size, totalFiles: js.length };
}

function coldStart(probe: string, bundle: string, deployed: Record<string, string>, extraEnv: Record<string, string>): Promise<Sample & { result: unknown }> {
  // The config paths come from extraEnv only: without them the handler finds the package's snapshot.
  const { MESH_CONFIG: _config, MESH_ROUTES_DIR: _routes, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = { ...inherited, AWS_PROFILE: '', POWERTOOLS_DEV: '', ...deployed, ...extraEnv };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [probe, pathToFileURL(bundle).href], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const line = out.split('\n').find((l) => l.startsWith('COLDSTART '));
      if (code !== 0 || !line) return reject(new Error(`cold start of ${bundle} failed (exit ${code}):\n${err || out}`));
      const { importMs, invokeMs, result } = JSON.parse(line.slice('COLDSTART '.length)) as Sample & { result: unknown };
      resolve({ importMs, invokeMs, wallMs, result });
    });
  });
}

// How the bare baseline was bundled before the Lambda was made lean (not minified, not split,
// packages' CommonJS builds): the reference of issue #6's figures, kept to compare against it.
const PREVIOUS_ESBUILD: BuildOptions = {
  bundle: true,
  minify: false,
  sourcemap: true,
  target: 'node24',
  platform: 'node',
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'error',
};

/** Builds the bundles, prints their sizes and the median cold starts, and returns the figures. */
export async function benchColdStart(runs = Number(process.env.BENCH_COLD_RUNS ?? 8)): Promise<ColdStartFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'nearmesh-coldstart-'));
  let fakes: AwsFakes | undefined;
  let taskDelivery: string | undefined;
  try {
    const yml = await readServerlessYml();
    const options = lambdaEsbuildOptions(yml);
    const deployed = deployedEnvironment(yml);
    const ext = options.outExtension?.['.js'] ?? '.js';
    const baselineSource = { contents: BASELINE, resolveDir: REPO, sourcefile: 'baseline.mjs', loader: 'js' } as const;
    const deliverySource = { contents: BASELINE_DELIVERY, resolveDir: REPO, sourcefile: 'baseline-delivery.mjs', loader: 'js' } as const;
    const [built, base, previous] = await Promise.all([
      build({ ...options, entryPoints: [join(REPO, 'functions', 'aws', 'on-event.ts')], outdir: join(dir, 'handler'), absWorkingDir: REPO }),
      build({ ...options, stdin: baselineSource, outdir: join(dir, 'baseline'), absWorkingDir: REPO }),
      build({ ...PREVIOUS_ESBUILD, stdin: baselineSource, outdir: join(dir, 'previous'), absWorkingDir: REPO }),
      build({ ...options, stdin: deliverySource, outdir: join(dir, 'baseline-delivery'), absWorkingDir: REPO }),
    ]);
    // esbuild names an stdin entry `stdin` (splitting takes an outdir, not an outfile).
    const files = {
      handler: join(dir, 'handler', `on-event${ext}`),
      baseline: join(dir, 'baseline', `stdin${ext}`),
      previous: join(dir, 'previous', 'stdin.mjs'),
      baselineDelivery: join(dir, 'baseline-delivery', `stdin${ext}`),
    };
    const probe = join(dir, 'probe.mjs');
    await writeFile(probe, PROBE);
    // The package's layout: the config files at the task root, and the snapshot packaging writes beside them.
    const task = join(dir, 'task');
    await mkdir(join(task, 'events'), { recursive: true });
    await cp(join(REPO, BUNDLED_CONFIG), join(task, BUNDLED_CONFIG));
    for (const sub of ['routes', 'schemas']) await cp(join(REPO, 'events', sub), join(task, 'events', sub), { recursive: true });
    const snapshot = await writeMeshSnapshot(join(task, MESH_SNAPSHOT_FILE), { root: task, configFile: BUNDLED_CONFIG, routesDir: BUNDLED_ROUTES_DIR });

    // A real delivery: the sample order through order-risk's rule (its input as ruleInputTemplate
    // renders it), a package whose catalogue sends it to Bedrock, and the three services faked on
    // the wire. Each run gets its own event id, so each claims anew.
    const deliveryTask = (taskDelivery = await functionPackage({ prefix: 'nearmesh-coldstart-delivery-', meshYaml: DELIVERY_MESH_YAML }));
    await writeMeshSnapshot(join(deliveryTask, MESH_SNAPSHOT_FILE), { root: deliveryTask, configFile: BUNDLED_CONFIG, routesDir: BUNDLED_ROUTES_DIR });
    const aws = (fakes = await startAwsFakes(deployed.MESH_IDEMPOTENCY_TABLE!));
    aws.dynamo.createTable(deployed.MESH_COUNTERS_TABLE!);
    const order = await sampleOrder();
    const delivery = (run: number) => ({ ...aws.env, BENCH_EVENT: JSON.stringify({ meshRoute: 'order-risk', event: { ...order, id: `cold-start-delivery-${run}` } }) });
    const answer = () => aws.bedrock.reply(bedrockToolAnswer({ score: 12, level: 'low', reasons: ['long-standing customer'] }));
    const emitted = (result: unknown) => (result as { routes?: { status?: string }[] }).routes?.[0]?.status === 'emitted';

    interface Variant {
      bundle: string;
      env: (run: number) => Record<string, string>;
      before?: () => void;
      /** What the invocation must have returned: a bench timing a failure would mislead. */
      check?: (result: unknown) => boolean;
    }
    const variants = {
      handler: { bundle: files.handler, env: () => ({ LAMBDA_TASK_ROOT: task }) },
      handlerFromFiles: { bundle: files.handler, env: () => ({ LAMBDA_TASK_ROOT: task, MESH_CONFIG: join(task, BUNDLED_CONFIG), MESH_ROUTES_DIR: join(task, BUNDLED_ROUTES_DIR) }) },
      baseline: { bundle: files.baseline, env: () => ({}) },
      previous: { bundle: files.previous, env: () => ({}) },
      handlerDelivery: { bundle: files.handler, env: (run) => ({ LAMBDA_TASK_ROOT: deliveryTask, ...delivery(run) }), before: answer, check: emitted },
      baselineDelivery: { bundle: files.baselineDelivery, env: (run) => delivery(run), before: answer, check: (r) => (r as { ok?: boolean }).ok === true },
    } satisfies Record<string, Variant>;
    const runOnce = async (name: string, v: Variant, run: number) => {
      v.before?.();
      const sample = await coldStart(probe, v.bundle, deployed, v.env(run));
      if (v.check && !v.check(sample.result)) throw new Error(`cold start ${name}: the invocation did not do its work: ${JSON.stringify(sample.result)}`);
      return sample;
    };

    const handlerBytes = bundleBytes(built.metafile!, relative(REPO, files.handler));
    const baselineBytes = bundleBytes(base.metafile!, relative(REPO, files.baseline));
    const previousBytes = bundleBytes(previous.metafile!, relative(REPO, files.previous));
    const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    console.log(`\nLambda bundle (serverless.yml custom.esbuild) and cold start, ${runs} fresh processes each, alternating`);
    console.log(
      `  read at init: handler ${kb(handlerBytes.init)} (${handlerBytes.initFiles} files); bare middy + 3 SDK clients ${kb(baselineBytes.init)} (${baselineBytes.initFiles}) — ${(handlerBytes.init / baselineBytes.init).toFixed(2)}×; the same bundled as before ${kb(previousBytes.init)}`,
    );
    console.log(`  shipped JavaScript: handler ${kb(handlerBytes.total)} in ${handlerBytes.totalFiles} files (the rest loads on first use), baseline ${kb(baselineBytes.total)} in ${baselineBytes.totalFiles}`);
    console.log(`  mesh snapshot (package time): ${snapshot.body.routes.length} routes, ${kb(JSON.stringify(snapshot).length)} (validators ${kb(snapshot.body.validators.length)})`);

    // One unmeasured round warms the file cache, so the first measured run is not a disk read.
    for (const [name, v] of Object.entries(variants)) await runOnce(name, v, -1);
    type Run = keyof typeof variants;
    const samples: Record<Run, Sample[]> = { handler: [], handlerFromFiles: [], baseline: [], previous: [], handlerDelivery: [], baselineDelivery: [] };
    for (let i = 0; i < runs; i++) for (const [name, v] of Object.entries(variants)) samples[name as Run].push(await runOnce(name, v, i));
    const med = (xs: Sample[]): Sample => ({ importMs: median(xs.map((x) => x.importMs)), invokeMs: median(xs.map((x) => x.invokeMs)), wallMs: median(xs.map((x) => x.wallMs)) });
    const handler = med(samples.handler);
    const handlerFromFiles = med(samples.handlerFromFiles);
    const baseline = med(samples.baseline);
    const before = med(samples.previous);
    const ms = (n: number) => `${n.toFixed(0).padStart(5)} ms`;
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
    const row = (label: string, pick: (s: Sample) => number) =>
      console.log(
        `  ${label.padEnd(38)} handler ${ms(pick(handler))} ${ratio(pick(handler), pick(baseline))} (files at start ${ms(pick(handlerFromFiles))} ${ratio(pick(handlerFromFiles), pick(baseline))})   baseline ${ms(pick(baseline))}   baseline bundled as before ${ms(pick(before))}; handler ${ratio(pick(handler), pick(before))} of it`,
      );
    row('import() of the bundle', (s) => s.importMs);
    row('first invocation (init + no match)', (s) => s.invokeMs);
    row('import + first invocation', (s) => s.importMs + s.invokeMs);
    row('process wall time (node start..exit)', (s) => s.wallMs);
    const handlerDelivery = med(samples.handlerDelivery);
    const baselineDelivery = med(samples.baselineDelivery);
    const deliveryRow = (label: string, pick: (s: Sample) => number) =>
      console.log(`  ${label.padEnd(38)} handler ${ms(pick(handlerDelivery))} ${ratio(pick(handlerDelivery), pick(baselineDelivery))}   baseline making the same calls ${ms(pick(baselineDelivery))}`);
    console.log('  a real delivery (order-risk\'s rule input; claim, Bedrock Converse over HTTP/2, PutEvents, complete; local fakes):');
    deliveryRow('first invocation (a real delivery)', (s) => s.invokeMs);
    deliveryRow('import + first real delivery', (s) => s.importMs + s.invokeMs);
    return { handlerBytes, baselineBytes, handler, handlerFromFiles, baseline, previousBaseline: before, handlerDelivery, baselineDelivery };
  } finally {
    await Promise.all([fakes?.bedrock.close(), fakes?.dynamo.close(), fakes?.events.close()]);
    if (taskDelivery) await rm(taskDelivery, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.filename === process.argv[1]) await benchColdStart();
