/**
 * `npm run bench` — throughput of the local pipeline, measured side by side in one run so
 * the figures are ratios, not absolute numbers from a noisy machine.
 *
 *  1. matcher: events/s of compilePatterns over the sample routes (EventBridge view in), then
 *     the route-count workload of matcher.ts (JSON text in, against JSON.parse alone);
 *  2. pipeline with the in-memory store vs the embedded SQLite store, the simulated
 *     provider at 0 ms latency — what the store costs per event; then the store alone in
 *     fresh processes: open time, per-event writes and RSS (storeOpen.ts);
 *  3. the Lambda bundle: what a cold start reads and how long import + first invocation take,
 *     against a bare middy handler with the same SDK clients (coldStart.ts);
 *  4. the CLI: `mesh --help` compiled, against `node -e 0` and the sources through tsx (cliStart.ts);
 *  5. mesh dev end to end: overhead against the openai client direct and Portkey's gateway
 *     (overhead.ts), then its memory over a long run (meshMemory.ts).
 *
 * Options: BENCH_EVENTS (default 2000); BENCH_SECTIONS, a comma list of the sections to run
 * (matcher, pipeline, cold, cli, overhead, replay; default all), e.g. `BENCH_SECTIONS=pipeline`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBus } from '../../shared/buses/index.ts';
import { loadMesh } from '../../shared/config/index.ts';
import { Pipeline, toEventBridgeEvent, type Envelope, type MeshConfig, type Route, type Store } from '../../shared/core/index.ts';
import type { AuditLog } from '../../shared/core/ports/AuditLog.ts';
import { defaultProviders } from '../../shared/models/index.ts';
import { createPlacer, summarizePlacement } from '../../shared/placement/index.ts';
import { compilePatterns } from '../../shared/rules/index.ts';
import { createMemoryStore, openLocalStore } from '../../shared/store/index.ts';
import { benchCliStart } from './cliStart.ts';
import { benchColdStart } from './coldStart.ts';
import { benchMatcher } from './matcher.ts';
import { benchMeshMemory } from './meshMemory.ts';
import { benchOverhead } from './overhead.ts';
import { benchReplayScale } from './replayScale.ts';
import { benchStoreOpen } from './storeOpen.ts';

const N = Number(process.env.BENCH_EVENTS ?? 2000);
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? 'matcher,pipeline,cold,cli,overhead,replay').split(',').map((s) => s.trim()));
const REPO = join(import.meta.dirname, '..', '..');

function orderEvent(i: number): Envelope {
  return {
    event: {
      specversion: '1.0',
      id: `bench-${i}`,
      source: 'com.acme.orders',
      type: 'OrderPlaced',
      time: '2026-11-22T08:00:00Z',
      data: {
        orderId: `ORD-${i}`,
        customer: { id: `C-${i % 97}`, tier: 'regular', accountAgeDays: i % 1000 },
        total: (i % 500) + 1,
        currency: 'USD',
        paymentMethod: 'card',
        shippingAddress: { country: 'US' },
        billingAddress: { country: 'US' },
        items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 10 }],
      },
      extensions: {},
    },
    origin: { transport: 'eventbridge', cloud: 'aws', region: 'us-east-1', account: '123456789012', bus: 'default' },
  };
}

function pipelineFor(config: MeshConfig, routes: Route[], store: Store): Pipeline {
  return new Pipeline({
    config,
    routes,
    matcher: compilePatterns(Object.fromEntries(routes.map((r) => [r.id, r.match]))),
    placer: createPlacer(config),
    providers: defaultProviders({ seed: config.seed }),
    publisher: new LocalBus(store.events),
    store,
    summarizePlacement,
    // As mesh dev does: one audit record per model call, in the same store.
    ...(audited(store) ? { audit: store.audit } : {}),
  });
}

function audited(store: Store): store is Store & { audit: AuditLog } {
  return 'audit' in store;
}

async function timeIt(label: string, events: Envelope[], pipeline: Pipeline): Promise<number> {
  const started = performance.now();
  let emitted = 0;
  for (const e of events) emitted += (await pipeline.process(e)).routes.filter((r) => r.status === 'emitted').length;
  const seconds = (performance.now() - started) / 1000;
  const rate = events.length / seconds;
  console.log(`  ${label.padEnd(28)} ${rate.toFixed(0).padStart(8)} events/s  (${events.length} events in ${seconds.toFixed(2)} s, ${emitted} results)`);
  // A bench of failures would measure the wrong thing.
  if (emitted !== events.length) throw new Error(`${label}: expected one result per event, got ${emitted} for ${events.length}`);
  return rate;
}

const { config, routes } = await loadMesh({ configFile: join(REPO, 'mesh.yaml'), routesDir: join(REPO, 'events/routes') });
for (const m of config.models) if (m.simulated) m.simulated = { ...m.simulated, latencyMs: { min: 0, max: 0 } };

console.log(`nearmesh bench — ${N} OrderPlaced events, simulated models at 0 ms, Node ${process.version}`);

// 1. Matcher: the sample routes, then the workload at 10 / 1,000 / 10,000 routes.
if (SECTIONS.has('matcher')) {
  const matcher = compilePatterns(Object.fromEntries(routes.map((r) => [r.id, r.match])));
  const views = Array.from({ length: 10_000 }, (_, i) => toEventBridgeEvent(orderEvent(i)));
  let matched = 0;
  const mStart = performance.now();
  for (let round = 0; round < 20; round++) for (const v of views) matched += matcher.matches(v).length;
  const mRate = (views.length * 20) / ((performance.now() - mStart) / 1000);
  console.log(`  matcher (${routes.length} sample routes)${' '.repeat(3)} ${mRate.toFixed(0).padStart(8)} events/s  (${matched} matches)`);
  benchMatcher();
}

// 2. Pipeline, memory store vs embedded SQLite store (warm-up excluded from both); the SQLite store
// opened as mesh dev opens it.
if (SECTIONS.has('pipeline')) {
  const memory = pipelineFor(config, routes, createMemoryStore());
  await timeIt('warm-up (memory)', Array.from({ length: 200 }, (_, i) => orderEvent(N + i)), memory);
  const memRate = await timeIt('pipeline, memory store', Array.from({ length: N }, (_, i) => orderEvent(i)), memory);

  const dir = await mkdtemp(join(tmpdir(), 'nearmesh-bench-'));
  const openStart = performance.now();
  const local = await openLocalStore({ dir });
  console.log(`  SQLite store open: ${(performance.now() - openStart).toFixed(1)} ms`);
  const sqlite = pipelineFor(config, routes, local);
  await timeIt('warm-up (SQLite)', Array.from({ length: 200 }, (_, i) => orderEvent(N + i)), sqlite);
  const sqliteRate = await timeIt('pipeline, SQLite store', Array.from({ length: N }, (_, i) => orderEvent(i)), sqlite);
  await local.close();
  await rm(dir, { recursive: true, force: true });

  console.log(`\nratio: SQLite store runs at ${(sqliteRate / memRate).toFixed(2)}× the in-memory throughput (same run, same events).`);
  await benchStoreOpen();
}

// 3. Lambda bundle size and cold start (fresh node processes, handler vs bare middy baseline)
if (SECTIONS.has('cold')) await benchColdStart();

// 4. CLI start: mesh --help compiled vs node -e 0 vs tsx from the sources (fresh processes)
if (SECTIONS.has('cli')) await benchCliStart();

// 5. mesh dev as users run it: overhead per event against the direct client and Portkey, then memory
if (SECTIONS.has('overhead')) {
  await benchOverhead();
  await benchMeshMemory();
}

// 6. On-call replay at scale: 10,000 SQS dead letters through the CLI against the wire fakes
if (SECTIONS.has('replay')) await benchReplayScale();
