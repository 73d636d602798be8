/**
 * What `mesh dev` adds to a model call (issue #13), run by `npm run bench` (or alone:
 * `npx tsx test/bench/overhead.ts`). Three ways to the same fast OpenAI-compatible fake:
 *
 *  - direct: the `openai` client calls the fake (the baseline);
 *  - mesh dev: the AWS SDK's EventBridgeClient sends PutEvents (one entry) to `mesh dev`, whose
 *    one route calls the fake through the `openai` provider and publishes the result to the
 *    local bus. PutEvents answers after the pipeline ran (the result is in the event log, or
 *    the failure in the ledger), so the request's latency is the event's end to end;
 *  - Portkey: the `openai` client calls Portkey's open-source gateway (headless), which
 *    forwards to the fake (`x-portkey-provider: openai`, `x-portkey-custom-host`);
 *  - PutEvents, null: the AWS SDK's PutEvents answered at once by the fake process — not a peer,
 *    the floor under the mesh dev row (the client's own cost and one hop, no model call).
 *
 * Each round runs every target in turn, so all see the same machine: at 1 in flight (latency,
 * pooled over rounds for the p50) and at 16 in flight (throughput, median of the rounds). The
 * figures are differences and ratios to direct, measured in the same run; a JSON report is
 * written (its path printed).
 *
 * Options: BENCH_OVERHEAD_EVENTS (requests per target at 1 in flight per round, default 300;
 * four times as many at 16 in flight), BENCH_OVERHEAD_ROUNDS (default 3), BENCH_REPORT_DIR,
 * BENCH_CPU_PROF=<dir> (profile mesh dev: a .cpuprofile for Chrome DevTools lands there),
 * BENCH_SKIP_BUILD=1 (run the dist/ already built), BENCH_BASELINE_MESH=<bin/mesh.js of another
 * build> (adds a "mesh dev, baseline" row run in the same rounds: a change measured side by side).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import OpenAI from 'openai';
import { buildMesh, cpuMsOf, quantile, startFake, startMeshDev, startPortkey, writeReport, type Running } from './meshDevHarness.ts';

type Call = (i: number) => Promise<void>;

interface Target {
  name: string;
  call: Call;
  /** The process serving it, whose CPU time per call is reported (the mesh dev rows). */
  pid?: number;
}

export interface OverheadReport {
  node: string;
  rounds: number;
  eventsPerRound: { oneInFlight: number; sixteenInFlight: number };
  targets: Record<
    string,
    {
      cpuMsPerEvent?: number;
      p50Ms: number;
      p90Ms: number;
      p99Ms: number;
      addedP50Ms: number;
      /** Added p50 of each round against direct's p50 in the same round: how far one figure moves with the machine. */
      addedP50MsByRound: number[];
      throughputPerS: number;
      throughputRatio: number;
    }
  >;
}

const SYSTEM = 'You score orders. Answer with JSON matching the schema.';
const SCHEMA = {
  type: 'object',
  properties: { score: { type: 'integer', minimum: 0, maximum: 100 }, reason: { type: 'string' } },
  required: ['score', 'reason'],
  additionalProperties: false,
};

function detail(i: number) {
  return { orderId: `ORD-${i}`, total: (i % 500) + 1, currency: 'USD', customer: { id: `C-${i % 97}`, tier: 'regular' } };
}

/** Calls sent again by againAfterReset: printed with the figures. */
let resets = 0;

function resetByPeer(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') return true;
  return false;
}

/**
 * A call whose pooled keep-alive connection the server had just closed (its idle timeout raced
 * the request, reported as ECONNRESET) is sent again once. Counted and printed: a measurement
 * with many of them says more about connection reuse than about the target.
 */
function againAfterReset(once: Call): Call {
  return async (i) => {
    try {
      await once(i);
    } catch (err) {
      if (!resetByPeer(err)) throw err;
      resets++;
      await once(i);
    }
  };
}

function chatCall(client: OpenAI): Call {
  return againAfterReset(chatOnce(client));
}

/** What the mesh's route sends, sent by the caller itself: the same request body over the same wire. */
function chatOnce(client: OpenAI): Call {
  return async (i) => {
    const d = detail(i);
    const completion = await client.chat.completions.create({
      model: 'bench-model',
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: `Score this order.\nOrder: ${d.orderId}\nTotal: ${d.total} ${d.currency}\nCustomer: ${JSON.stringify(d.customer)}\n` },
      ],
      max_tokens: 100,
      temperature: 0,
      response_format: { type: 'json_schema', json_schema: { name: 'bench-score', schema: SCHEMA, strict: true } },
    });
    // Read the answer as the mesh does, so both sides parse it.
    JSON.parse(completion.choices[0]!.message.content!);
  };
}

function putEventsCall(endpoint: string): Call {
  const client = new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const once = async (i: number) => {
    const out = await client.send(new PutEventsCommand({ Entries: [{ Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify(detail(i)) }] }));
    if (out.FailedEntryCount !== 0) throw new Error(`PutEvents failed: ${JSON.stringify(out.Entries)}`);
  };
  return againAfterReset(once);
}

/** Latencies of `n` calls one after another, in ms. */
async function sequential(call: Call, n: number, offset: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(offset + i);
    out.push(performance.now() - t);
  }
  return out;
}

/** Calls per second with `inFlight` callers sharing `n` calls. */
async function concurrent(call: Call, n: number, inFlight: number, offset: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await call(offset + next++);
    }),
  );
  return n / ((performance.now() - started) / 1000);
}

export async function benchOverhead(): Promise<OverheadReport> {
  const n1 = Number(process.env.BENCH_OVERHEAD_EVENTS ?? 300);
  const n16 = n1 * 4;
  const rounds = Number(process.env.BENCH_OVERHEAD_ROUNDS ?? 3);
  console.log(`\nOverhead: the same fake model through mesh dev (PutEvents, AWS SDK) and Portkey's gateway, against the openai client direct; ${rounds} rounds of ${n1} calls at 1 in flight and ${n16} at 16`);
  await buildMesh();
  const running: Running[] = [];
  try {
    const fake = await startFake();
    running.push(fake);
    // BENCH_CPU_PROF=<dir>: mesh dev runs under the V8 profiler and writes its profile there when it stops.
    const profileDir = process.env.BENCH_CPU_PROF;
    const mesh = await startMeshDev(fake.url, profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {});
    running.push(mesh);
    const baselineEntry = process.env.BENCH_BASELINE_MESH;
    const baseline = baselineEntry ? await startMeshDev(fake.url, { entry: baselineEntry }) : undefined;
    if (baseline) running.push(baseline);
    const portkey = await startPortkey();
    running.push(portkey);
    const targets: Target[] = [
      { name: 'direct', call: chatCall(new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'bench', maxRetries: 0 })) },
      { name: 'mesh dev', call: putEventsCall(mesh.url), pid: mesh.pid },
      ...(baseline ? [{ name: 'mesh dev, baseline', call: putEventsCall(baseline.url), pid: baseline.pid }] : []),
      {
        name: 'Portkey gateway',
        call: chatCall(new OpenAI({ baseURL: `${portkey.url}/v1`, apiKey: 'bench', maxRetries: 0, defaultHeaders: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${fake.url}/v1` } })),
      },
      // Not a peer: the AWS SDK sending PutEvents to an ingress that answers at once, the floor of
      // the mesh dev row (the client and one hop, no model call behind it).
      { name: 'PutEvents, null', call: putEventsCall(fake.url) },
    ];

    // Warm-up: connections opened, code compiled by every process, before anything is timed.
    let offset = 0;
    for (const t of targets) {
      await sequential(t.call, 100, offset);
      await concurrent(t.call, 400, 16, offset + 100);
      offset += 500;
    }
    const latencies = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const rates = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const roundP50s = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    // CPU time of the serving process per call: what a busy machine's noise hardly moves.
    const cpuMs = new Map<string, number>();
    for (let r = 0; r < rounds; r++) {
      for (const t of targets) {
        const cpuBefore = t.pid === undefined ? undefined : await cpuMsOf(t.pid);
        const round = await sequential(t.call, n1, offset);
        latencies.get(t.name)!.push(...round);
        roundP50s.get(t.name)!.push(quantile(round, 0.5));
        offset += n1;
        rates.get(t.name)!.push(await concurrent(t.call, n16, 16, offset));
        offset += n16;
        const cpuAfter = t.pid === undefined ? undefined : await cpuMsOf(t.pid);
        if (cpuBefore !== undefined && cpuAfter !== undefined) cpuMs.set(t.name, (cpuMs.get(t.name) ?? 0) + cpuAfter - cpuBefore);
      }
    }
    const failures = (await mesh.openFailures()) + (baseline ? await baseline.openFailures() : 0);
    if (failures > 0) throw new Error(`mesh dev recorded ${failures} failures: the figures would measure failing events`);

    const median = (xs: number[]) => quantile(xs, 0.5);
    const directP50 = median(latencies.get('direct')!);
    const directRate = median(rates.get('direct')!);
    const report: OverheadReport = { node: process.version, rounds, eventsPerRound: { oneInFlight: n1, sixteenInFlight: n16 }, targets: {} };
    console.log(`  ${'target'.padEnd(18)} ${'p50'.padStart(8)} ${'p90'.padStart(8)} ${'p99'.padStart(8)} ${'added p50'.padStart(10)} ${'16 in flight'.padStart(13)} ${'× direct'.padStart(9)}`);
    for (const t of targets) {
      const ms = latencies.get(t.name)!;
      const rate = median(rates.get(t.name)!);
      const cpu = cpuMs.get(t.name);
      const byRound = roundP50s.get(t.name)!.map((p50, r) => p50 - roundP50s.get('direct')![r]!);
      const row = {
        ...(cpu === undefined ? {} : { cpuMsPerEvent: cpu / (rounds * (n1 + n16)) }),
        p50Ms: median(ms),
        p90Ms: quantile(ms, 0.9),
        p99Ms: quantile(ms, 0.99),
        addedP50Ms: median(ms) - directP50,
        addedP50MsByRound: byRound,
        throughputPerS: rate,
        throughputRatio: rate / directRate,
      };
      report.targets[t.name] = row;
      const f = (x: number) => `${x.toFixed(2)} ms`.padStart(8);
      console.log(
        `  ${t.name.padEnd(18)} ${f(row.p50Ms)} ${f(row.p90Ms)} ${f(row.p99Ms)} ${`${row.addedP50Ms >= 0 ? '+' : ''}${row.addedP50Ms.toFixed(2)} ms`.padStart(10)} ${`${rate.toFixed(0)}/s`.padStart(13)} ${`${row.throughputRatio.toFixed(2)}×`.padStart(9)}`,
      );
    }
    for (const t of targets) {
      const { cpuMsPerEvent: cpu, addedP50MsByRound: byRound } = report.targets[t.name]!;
      if (cpu !== undefined) console.log(`  ${t.name}: ${cpu.toFixed(3)} ms of CPU per event (its process, user + system)`);
      if (t.name !== 'direct') console.log(`  ${t.name}: added p50 round by round ${byRound.map((x) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`).join(', ')} ms`);
    }
    if (resets > 0) console.log(`  ${resets} call(s) sent again after the server reset an idle keep-alive connection`);
    const m = report.targets['mesh dev']!;
    console.log(`  goals (issue #13): added p50 ≤ 1 ms — ${m.addedP50Ms.toFixed(2)} ms; throughput ≥ 0.4× direct — ${m.throughputRatio.toFixed(2)}×`);
    console.log(`  report: ${await writeReport('overhead', report)}`);
    return report;
  } finally {
    for (const r of running.reverse()) await r.stop();
  }
}

if (import.meta.filename === process.argv[1]) await benchOverhead();
