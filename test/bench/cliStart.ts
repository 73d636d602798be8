/**
 * Start-up of the `mesh` command, run by `npm run bench` (or alone: `npx tsx test/bench/cliStart.ts`).
 *
 * `mesh --help` as users start it (bin/mesh.js → the CLI compiled by `npm run build`), against
 * `node -e 0` (what any Node process costs here) and against the TypeScript sources run through
 * tsx (`node --import tsx functions/cli/mesh.ts`, what bin/mesh.js did before the build step,
 * and still does in a checkout never built). Each run is a fresh process, the three alternate so
 * they see the same machine; figures are medians of wall time, spawn to exit.
 *
 * Options: BENCH_CLI_RUNS (default 10).
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const REPO = join(import.meta.dirname, '..', '..');

export interface CliStartFigures {
  nodeMs: number;
  compiledMs: number;
  tsxMs: number;
  buildMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function wallMs(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`node ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Builds dist/, then times the three ways of starting; prints medians and ratios. */
export async function benchCliStart(runs = Number(process.env.BENCH_CLI_RUNS ?? 10)): Promise<CliStartFigures> {
  const buildStarted = performance.now();
  await promisify(execFile)(process.execPath, ['build.ts', '--quiet'], { cwd: REPO });
  const buildMs = performance.now() - buildStarted;

  const ways = {
    node: ['-e', '0'],
    compiled: [join(REPO, 'bin', 'mesh.js'), '--help'],
    tsx: ['--import', 'tsx', join(REPO, 'functions', 'cli', 'mesh.ts'), '--help'],
  };
  // One unmeasured round warms the file cache (and tsx's transform cache, as a second start would).
  for (const args of Object.values(ways)) await wallMs(args);
  const times: Record<keyof typeof ways, number[]> = { node: [], compiled: [], tsx: [] };
  for (let i = 0; i < runs; i++) for (const [way, args] of Object.entries(ways)) times[way as keyof typeof ways].push(await wallMs(args));
  const nodeMs = median(times.node);
  const compiledMs = median(times.compiled);
  const tsxMs = median(times.tsx);

  const ms = (n: number) => `${n.toFixed(0).padStart(5)} ms`;
  console.log(`\nmesh --help, ${runs} fresh processes each, alternating (npm run build took ${buildMs.toFixed(0)} ms)`);
  console.log(`  node -e 0                                ${ms(nodeMs)}`);
  console.log(`  mesh --help, compiled (bin/mesh.js)      ${ms(compiledMs)}   ${(compiledMs / nodeMs).toFixed(2)}× node -e 0, +${(compiledMs - nodeMs).toFixed(0)} ms`);
  console.log(`  mesh --help, sources through tsx         ${ms(tsxMs)}   ${(tsxMs / nodeMs).toFixed(2)}× node -e 0; compiled is ${(tsxMs / compiledMs).toFixed(1)}× faster`);
  return { nodeMs, compiledMs, tsxMs, buildMs };
}

if (import.meta.filename === process.argv[1]) await benchCliStart();
