/**
 * What the overhead and memory benches share: a fast OpenAI-compatible fake, `mesh dev` started
 * as a user runs it (bin/mesh.js, its own store and a one-route config calling the fake), and
 * Portkey's open-source gateway in front of the same fake. Each runs in its own process, so
 * the bench's clients never share an event loop with what they measure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');
const MESH = join(REPO, 'bin', 'mesh.js');
const PORTKEY = join(REPO, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');

/** The answer every call gets: a valid chat completion whose content matches the bench route's schema. */
const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_795_000_000,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: '{"score":7,"reason":"usual order"}', refusal: null }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 120, completion_tokens: 12, total_tokens: 132 },
});

// The fake answers at once with a body built once: what is measured is who stands in front of it.
const FAKE = `
import { createServer } from 'node:http';
const body = Buffer.from(${JSON.stringify(COMPLETION)});
const putEvents = Buffer.from('{"FailedEntryCount":0,"Entries":[{"EventId":"null-ingress"}]}');
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.headers['x-amz-target'] === 'AWSEvents.PutEvents') {
      // The null ingress: what the AWS SDK and one hop cost, with no mesh and no model behind them.
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': putEvents.length });
      res.end(putEvents);
      return;
    }
    if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`;

/** A child process and how to stop it. */
export interface Running {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Resolves with the first match of `pattern` on the child's stdout; keeps only a short tail after that. */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let found = false;
    const timer = setTimeout(() => reject(new Error(`${what}: timed out waiting for ${pattern}\n${out}\n${err}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.stdout?.on('data', (d: Buffer) => {
      // Drained for as long as the child runs: a full pipe would stall it.
      if (found) return;
      out += d.toString();
      const m = out.match(pattern);
      if (m) {
        found = true;
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`${what} exited (${code}) before it was ready\n${out}\n${err}`));
    });
  });
}

/** The fake OpenAI-compatible server, in its own process. */
export async function startFake(): Promise<Running> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', FAKE], { stdio: ['ignore', 'pipe', 'pipe'] });
  const [, port] = await waitForLine(child, /listening (\d+)/, 'the fake');
  return { url: `http://127.0.0.1:${port}`, child, stop: async () => void (child.kill('SIGKILL'), await exited(child)) };
}

/** `mesh dev` as started by a user, and what the bench needs to check on it. */
export interface MeshDev extends Running {
  home: string;
  pid: number;
  /** Open failures in its ledger: a bench of failures would measure the wrong thing. */
  openFailures(): Promise<number>;
}

const ROUTE = `
id: bench-score
match:
  source: [com.acme.orders]
  detail-type: [OrderPlaced]
data:
  classification: public
task:
  system: You score orders. Answer with JSON matching the schema.
  prompt: |
    Score this order.
    Order: {{detail.orderId}}
    Total: {{detail.total}} {{detail.currency}}
    Customer: {{detail.customer}}
  output:
    type: object
    properties:
      score: { type: integer, minimum: 0, maximum: 100 }
      reason: { type: string }
    required: [score, reason]
    additionalProperties: false
  maxTokens: 100
  temperature: 0
  timeoutMs: 20000
  attemptsPerEndpoint: 1
emit:
  source: nearmesh.bench
  detailType: OrderScored
  to: [local]
`;

function meshYaml(fakeUrl: string): string {
  return `
seed: 42
models:
  - id: bench-openai
    provider: openai
    scope: global
    model: bench-model
    options: { baseURL: "${fakeUrl}/v1" }
residency:
  public: anywhere
destinations:
  local: { kind: local }
`;
}

/** Compiles the CLI once, as `npm start` does, so the child runs the current sources. */
export async function buildMesh(): Promise<void> {
  // BENCH_SKIP_BUILD=1 runs the dist/ already built (a working tree mid-edit may not build).
  if (process.env.BENCH_SKIP_BUILD === '1') return;
  const child = spawn(process.execPath, [join(REPO, 'build.ts'), '--quiet'], { cwd: REPO, stdio: 'inherit' });
  await exited(child);
  if (child.exitCode !== 0) throw new Error(`the build failed (exit ${child.exitCode})`);
}

/**
 * Starts `node [nodeArgs] bin/mesh.js dev --port 0 --skip-samples` with a fresh MESH_HOME and a
 * config whose one route calls `fakeUrl`. `nodeArgs` lets a profiler in (`--cpu-prof`); `entry`
 * runs another build's `bin/mesh.js` (an earlier commit's, to compare side by side).
 */
export async function startMeshDev(fakeUrl: string, options: { nodeArgs?: string[]; cwd?: string; entry?: string } = {}): Promise<MeshDev> {
  const dir = await mkdtemp(join(tmpdir(), 'nearmesh-bench-dev-'));
  const home = join(dir, 'home');
  await mkdir(join(dir, 'routes'));
  await writeFile(join(dir, 'mesh.yaml'), meshYaml(fakeUrl));
  await writeFile(join(dir, 'routes', 'bench-score.yaml'), ROUTE);
  // BENCH_MESH_NODE_ARGS: Node flags for mesh dev alone (a heap setting tried before it is adopted).
  const envArgs = process.env.BENCH_MESH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...envArgs, ...(options.nodeArgs ?? []), options.entry ?? MESH, 'dev', '--port', '0', '--skip-samples', '--config', join(dir, 'mesh.yaml'), '--routes', join(dir, 'routes')], {
    cwd: options.cwd ?? dir,
    // No key in the environment: a custom base URL gets the placeholder key, as with Ollama.
    env: { ...process.env, MESH_HOME: home, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', MESH_LOG_LEVEL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [, url] = await waitForLine(child, /PutEvents endpoint: (http:\/\/127\.0\.0\.1:\d+)/, 'mesh dev');
  const token = (JSON.parse(await readFile(join(home, 'dev.json'), 'utf8')) as { token: string }).token;
  return {
    url: url!,
    child,
    home,
    pid: child.pid!,
    openFailures: async () => {
      const res = await fetch(`${url}/_mesh/failed?status=open&limit=1000`, { headers: { authorization: `Bearer ${token}` } });
      return ((await res.json()) as { failures: unknown[] }).failures.length;
    },
    // SIGINT: mesh dev finishes what is in flight and closes its store, so a profile gets written.
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Portkey's open-source gateway, headless, on a free port. */
export async function startPortkey(): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, [PORTKEY, '--headless', `--port=${port}`], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Portkey's gateway exited (${child.exitCode}) before it was ready`);
    try {
      await fetch(url);
      break;
    } catch {
      if (Date.now() - started > 60_000) throw new Error("Portkey's gateway did not answer within 60 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { url, child, stop: async () => void (child.kill('SIGKILL'), await exited(child)) };
}

/** The child's resident set and its high-water mark, in MiB, from /proc (Linux). */
export async function rssOf(pid: number): Promise<{ rssMb: number; hwmMb: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) the process has used so far, in ms, from /proc (Linux). */
export async function cpuMsOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux the bench runs on. */
const CLOCK_TICKS = 100;

/** The `p`-quantile (0..1) of `xs`, nearest rank. */
export function quantile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Where a bench writes its JSON report: BENCH_REPORT_DIR, else the system's temporary directory. */
export async function writeReport(name: string, report: unknown): Promise<string> {
  const dir = process.env.BENCH_REPORT_DIR ?? join(tmpdir(), 'nearmesh-bench');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
