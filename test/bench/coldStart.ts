/**
 * Lambda bundle size and cold start of issue #6, run by `npm run bench` (or alone:
 * `tsx test/bench/coldStart.ts`).
 *
 * Two bundles are built with serverless.yml's `custom.esbuild` settings (bundle, ESM, node22,
 * the createRequire banner, external source map): the real handler, and a bare middy handler
 * that creates the same three SDK clients (EventBridge, DynamoDB, Bedrock Runtime) and
 * returns. Each cold start is a fresh `node --enable-source-maps` process (as deployed); in it
 * we time `import()` of the bundle, then the first invocation: for the handler, building the
 * mesh from the repo's mesh.yaml and routes and running an event that matches no route, so no
 * network call is made; for the baseline, its empty body. Runs alternate handler/baseline so
 * both see the same machine; figures are medians and the handler/baseline ratio.
 *
 * Options: BENCH_COLD_RUNS (default 8).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

const REPO = join(import.meta.dirname, '..', '..');

// serverless.yml → custom.esbuild, kept in step by hand (the plugin adds only the entry and outdir).
const LAMBDA_ESBUILD: BuildOptions = {
  bundle: true,
  minify: false,
  sourcemap: true,
  target: 'node22',
  platform: 'node',
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: 'error',
};

// Module-scope clients, as a real function would create them; an unused import would be tree-shaken away.
const BASELINE = `
import middy from '@middy/core';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
export const clients = [new EventBridgeClient({}), new DynamoDBClient({}), new BedrockRuntimeClient({})];
export const handler = middy(async () => ({ ok: true }));
`;

// Runs in the child: import, then one invocation with a Lambda context; prints one marked line.
const PROBE = `
const t0 = performance.now();
const { handler } = await import(process.argv[2]);
const t1 = performance.now();
const event = {
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

export interface ColdStartFigures {
  handlerBytes: number;
  baselineBytes: number;
  handler: Sample;
  baseline: Sample;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function coldStart(probe: string, bundle: string): Promise<Sample> {
  const env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_PROFILE: '',
    MESH_CONFIG: join(REPO, 'mesh.yaml'),
    MESH_ROUTES_DIR: join(REPO, 'events', 'routes'),
    MESH_IDEMPOTENCY_TABLE: 'nearmesh-bench-idempotency',
    POWERTOOLS_DEV: '',
    NODE_OPTIONS: '',
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--enable-source-maps', probe, pathToFileURL(bundle).href], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const line = out.split('\n').find((l) => l.startsWith('COLDSTART '));
      if (code !== 0 || !line) return reject(new Error(`cold start of ${bundle} failed (exit ${code}):\n${err || out}`));
      const { importMs, invokeMs } = JSON.parse(line.slice('COLDSTART '.length)) as Sample;
      resolve({ importMs, invokeMs, wallMs });
    });
  });
}

/** Builds both bundles, prints their sizes and the median cold starts, and returns the figures. */
export async function benchColdStart(runs = Number(process.env.BENCH_COLD_RUNS ?? 8)): Promise<ColdStartFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'nearmesh-coldstart-'));
  try {
    await build({ ...LAMBDA_ESBUILD, entryPoints: [join(REPO, 'functions', 'aws', 'on-event.ts')], outdir: join(dir, 'handler') });
    await build({
      ...LAMBDA_ESBUILD,
      stdin: { contents: BASELINE, resolveDir: REPO, sourcefile: 'baseline.mjs', loader: 'js' },
      outfile: join(dir, 'baseline', 'baseline.mjs'),
    });
    const handlerFile = join(dir, 'handler', 'on-event.mjs');
    const baselineFile = join(dir, 'baseline', 'baseline.mjs');
    const probe = join(dir, 'probe.mjs');
    await writeFile(probe, PROBE);

    const handlerBytes = (await stat(handlerFile)).size;
    const baselineBytes = (await stat(baselineFile)).size;
    const mapBytes = (await stat(`${handlerFile}.map`)).size;
    const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    console.log(`\nLambda bundle (serverless.yml esbuild settings) and cold start, ${runs} fresh processes each, alternating`);
    console.log(`  bundle: handler ${kb(handlerBytes)} (${handlerBytes} B, + ${kb(mapBytes)} source map), bare middy + 3 SDK clients ${kb(baselineBytes)} (${baselineBytes} B) — ${(handlerBytes / baselineBytes).toFixed(2)}×`);

    // One unmeasured pair warms the file cache, so the first measured run is not a disk read.
    await coldStart(probe, handlerFile);
    await coldStart(probe, baselineFile);
    const h: Sample[] = [];
    const b: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      h.push(await coldStart(probe, handlerFile));
      b.push(await coldStart(probe, baselineFile));
    }
    const med = (xs: Sample[]): Sample => ({ importMs: median(xs.map((x) => x.importMs)), invokeMs: median(xs.map((x) => x.invokeMs)), wallMs: median(xs.map((x) => x.wallMs)) });
    const handler = med(h);
    const baseline = med(b);
    const row = (label: string, pick: (s: Sample) => number) =>
      console.log(`  ${label.padEnd(38)} handler ${pick(handler).toFixed(0).padStart(5)} ms   baseline ${pick(baseline).toFixed(0).padStart(5)} ms   ${(pick(handler) / pick(baseline)).toFixed(2)}×`);
    row('import() of the bundle', (s) => s.importMs);
    row('first invocation (init + no match)', (s) => s.invokeMs);
    row('import + first invocation', (s) => s.importMs + s.invokeMs);
    row('process wall time (node start..exit)', (s) => s.wallMs);
    return { handlerBytes, baselineBytes, handler, baseline };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.filename === process.argv[1]) await benchColdStart();
