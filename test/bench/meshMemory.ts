/**
 * `mesh dev`'s memory under a long run (issue #13: peak RSS over 100,000 events ≤ 150 MB, and
 * flat), run by `npm run bench` (or alone: `npx tsx test/bench/meshMemory.ts`). mesh dev runs
 * as a user starts it (see meshDevHarness.ts), its one route calling a fast fake model; the
 * AWS SDK sends PutEvents at 16 in flight while the child's VmRSS is sampled from /proc every
 * 200 ms. Reported: RSS once started, the peak (VmHWM, the kernel's own high-water mark), and
 * the slope of RSS against events sent over the second half of the run, when the heap has
 * reached its working size: a leak shows as a slope that stays above zero.
 *
 * Options: BENCH_MEMORY_EVENTS (default 10,000; the issue's figure is 100,000), BENCH_REPORT_DIR,
 * BENCH_SKIP_BUILD=1 (run the dist/ already built), BENCH_MESH_NODE_ARGS (Node flags for mesh dev
 * alone, e.g. `--max-semi-space-size=1`: a heap setting tried before it is adopted).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { buildMesh, rssOf, startFake, startMeshDev, writeReport, type Running } from './meshDevHarness.ts';

export interface MemoryReport {
  node: string;
  events: number;
  startedRssMb: number;
  peakRssMb: number;
  endRssMb: number;
  /** MiB per 10,000 events, least squares over the second half of the samples. */
  slopeMbPer10k: number;
  eventsPerS: number;
  samples: { events: number; rssMb: number }[];
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

export async function benchMeshMemory(): Promise<MemoryReport> {
  const total = Number(process.env.BENCH_MEMORY_EVENTS ?? 10_000);
  const inFlight = 16;
  console.log(`\nmesh dev memory: ${total.toLocaleString('en')} events by PutEvents at ${inFlight} in flight, VmRSS of the mesh dev process sampled every 200 ms`);
  await buildMesh();
  const running: Running[] = [];
  try {
    const fake = await startFake();
    running.push(fake);
    const mesh = await startMeshDev(fake.url);
    running.push(mesh);
    const client = new EventBridgeClient({ endpoint: mesh.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    const started = (await rssOf(mesh.pid))!;
    let sent = 0;
    const samples: { events: number; rssMb: number }[] = [];
    const sampler = setInterval(() => void rssOf(mesh.pid).then((m) => m && samples.push({ events: sent, rssMb: m.rssMb })), 200);
    const t0 = performance.now();
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < total) {
            const i = next++;
            const out = await client.send(
              new PutEventsCommand({ Entries: [{ Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify({ orderId: `ORD-${i}`, total: (i % 500) + 1, currency: 'USD', customer: { id: `C-${i % 97}` } }) }] }),
            );
            if (out.FailedEntryCount !== 0) throw new Error(`PutEvents failed: ${JSON.stringify(out.Entries)}`);
            sent++;
          }
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - t0) / 1000;
    const end = (await rssOf(mesh.pid))!;
    samples.push({ events: sent, rssMb: end.rssMb });
    const failures = await mesh.openFailures();
    if (failures > 0) throw new Error(`mesh dev recorded ${failures} failures: the figures would measure failing events`);
    const secondHalf = samples.filter((s) => s.events >= total / 2).map((s) => ({ x: s.events, y: s.rssMb }));
    const report: MemoryReport = {
      node: process.version,
      events: total,
      startedRssMb: started.rssMb,
      peakRssMb: end.hwmMb,
      endRssMb: end.rssMb,
      slopeMbPer10k: slope(secondHalf) * 10_000,
      eventsPerS: total / seconds,
      samples,
    };
    const mb = (x: number) => `${x.toFixed(1)} MB`;
    console.log(`  RSS started ${mb(report.startedRssMb)}, peak ${mb(report.peakRssMb)}, at the end ${mb(report.endRssMb)}; slope over the second half ${report.slopeMbPer10k >= 0 ? '+' : ''}${report.slopeMbPer10k.toFixed(2)} MB per 10,000 events (${report.eventsPerS.toFixed(0)} events/s)`);
    console.log(`  goal (issue #13): peak ≤ 150 MB over 100,000 events, flat — ${mb(report.peakRssMb)} over ${total.toLocaleString('en')}`);
    console.log(`  report: ${await writeReport('mesh-memory', report)}`);
    return report;
  } finally {
    for (const r of running.reverse()) await r.stop();
  }
}

if (import.meta.filename === process.argv[1]) await benchMeshMemory();
