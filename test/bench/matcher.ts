/**
 * The matcher benchmark of issue #3, run by `npm run bench` (or alone: `tsx test/bench/matcher.ts`).
 *
 * Workload: N routes, each an exact `source` plus one other operator (exact detail-type,
 * prefix, suffix, equals-ignore-case, wildcard, numeric range, cidr or anything-but), over
 * N/10 sources (at least 10); ~800-byte EventBridge events given as JSON text, each matching
 * a few routes. Rates include JSON.parse, and are set against JSON.parse alone; all sizes and
 * their parses are measured in the same alternating slices, so the figures are ratios rather
 * than absolute numbers from a noisy machine.
 */
import { compilePatterns } from '../../shared/rules/index.ts';

const KINDS = 8;

function route(i: number, sources: number): Record<string, unknown> {
  // A multiplicative hash spreads the operator kinds evenly over the sources.
  const source = [`com.acme.svc${((i * 2654435761) >>> 0) % sources}`];
  const k = Math.floor(i / KINDS) % 50;
  switch (i % KINDS) {
    case 0:
      return { source, 'detail-type': [`Order${k}Placed`] };
    case 1:
      return { source, detail: { region: [{ prefix: `r${k}-` }] } };
    case 2:
      return { source, detail: { amount: [{ numeric: ['>=', k * 20, '<', k * 20 + 20] }] } };
    case 3:
      return { source, detail: { customer: { tier: [{ 'equals-ignore-case': `TIER${k}` }] } } };
    case 4:
      return { source, detail: { file: [{ suffix: `.ext${k}` }] } };
    case 5:
      return { source, detail: { path: [{ wildcard: `/p${k}/*/data` }] } };
    case 6:
      return { source, detail: { ip: [{ cidr: `10.${k}.0.0/16` }] } };
    default:
      return { source, detail: { status: [{ 'anything-but': ['cancelled', `held${k}`] }] } };
  }
}

function event(i: number, sources: number, random: () => number): string {
  const pick = (n: number) => Math.floor(random() * n);
  const k = pick(50);
  return JSON.stringify({
    version: '0',
    id: `6a7e8feb-b491-4cf7-a9f1-bf3703467${String(i).padStart(3, '0')}`,
    'detail-type': `Order${pick(50)}Placed`,
    source: `com.acme.svc${pick(sources)}`,
    account: '123456789012',
    time: '2026-11-22T08:00:00Z',
    region: 'eu-central-1',
    resources: ['arn:aws:dynamodb:eu-central-1:123456789012:table/orders', 'arn:aws:s3:::acme-orders'],
    detail: {
      orderId: `ORD-${i}`,
      region: `r${pick(50)}-west`,
      amount: pick(1000),
      currency: 'EUR',
      customer: { id: `C-${pick(9999)}`, tier: `Tier${k}`, accountAgeDays: pick(3000) },
      file: `export-${i}.ext${pick(50)}`,
      path: `/p${pick(50)}/2026/data`,
      ip: `10.${pick(50)}.${pick(256)}.${pick(256)}`,
      status: pick(10) === 0 ? 'cancelled' : 'open',
      items: [
        { sku: 'SKU-1001', quantity: 1 + pick(5), unitPrice: 19.99 },
        { sku: 'SKU-2002', quantity: 1, unitPrice: 5.5 },
      ],
      shippingAddress: { country: 'DE', city: 'Berlin', postcode: '10115', street: 'Invalidenstraße 117' },
      channel: { name: 'web', campaign: `spring-${pick(20)}`, referrer: 'https://www.example.com/catalogue' },
    },
  });
}

/** A seeded generator, so every run measures the same events. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Events per second of each of `works` over their texts, measured in alternating slices for
 * `seconds` in all after a warm-up, so a machine busy with other work slows them alike.
 */
function rates(works: [string[], (text: string) => number][], seconds = 3): number[] {
  let sink = 0;
  const done = works.map(() => 0);
  const spent = works.map(() => 0);
  for (const [texts, work] of works) for (const t of texts) sink += work(t);
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    works.forEach(([texts, work], i) => {
      const t0 = performance.now();
      for (const t of texts) sink += work(t);
      spent[i]! += performance.now() - t0;
      done[i]! += texts.length;
    });
  }
  if (sink === -1) console.log(sink); // keeps the work observable
  return done.map((n, i) => n / (spent[i]! / 1000));
}

export interface MatcherFigures {
  parse: number;
  byRoutes: Record<number, number>;
}

export function benchMatcher(routeCounts = [10, 1_000, 10_000]): MatcherFigures {
  const format = (n: number) => n.toFixed(0).padStart(9);
  const largest = Math.max(...routeCounts);
  const texts = Array.from({ length: 2000 }, (_, i) => event(i, Math.max(10, largest / 10), mulberry32(i + 1)));
  const bytes = texts.reduce((sum, t) => sum + t.length, 0) / texts.length;
  console.log(`  matcher workload: routes = exact source + one other operator, ${texts.length} events of ~${bytes.toFixed(0)} bytes as JSON text`);
  const parseOnly = (t: string) => (JSON.parse(t) as { id: string }).id.length;
  const sizes = routeCounts.map((n) => {
    const sources = Math.max(10, n / 10);
    const built = performance.now();
    const matcher = compilePatterns(Object.fromEntries(Array.from({ length: n }, (_, i) => [`route-${i}`, route(i, sources)])));
    const buildMs = performance.now() - built;
    // Same events for every size, drawn over this size's sources so each matches a few routes.
    const sized = Array.from({ length: texts.length }, (_, i) => event(i, sources, mulberry32(i + 1)));
    const matches = sized.reduce((sum, t) => sum + matcher.matches(t).length, 0);
    return { n, matcher, sized, buildMs, matches };
  });
  // Every size and its JSON.parse run in the same alternating slices, so both ratios compare
  // figures taken side by side, even on a machine busy with other work.
  const measured = rates(
    sizes.flatMap(({ matcher, sized }): [string[], (text: string) => number][] => [
      [sized, parseOnly],
      [sized, (t) => matcher.matches(t).length],
    ]),
    3 * routeCounts.length,
  );
  const byRoutes: Record<number, number> = {};
  const parses: number[] = [];
  sizes.forEach(({ n, sized, buildMs, matches }, i) => {
    const [parse, matched] = [measured[2 * i]!, measured[2 * i + 1]!];
    parses.push(parse);
    byRoutes[n] = matched;
    console.log(
      `  ${String(n).padStart(6)} routes: JSON.parse alone ${format(parse)} events/s, matcher ${format(matched)} events/s (parse included; ${(matches / sized.length).toFixed(2)} matches/event; built in ${buildMs.toFixed(0)} ms)`,
    );
  });
  const parse = Math.max(...parses);
  const [small, middle] = [byRoutes[routeCounts[0]!]!, byRoutes[1_000]];
  const parseBeside1000 = parses[routeCounts.indexOf(1_000)];
  if (middle !== undefined && parseBeside1000 !== undefined) {
    console.log(`  goal ≥ 0.50: 1,000-route rate / JSON.parse rate (same slices) = ${(middle / parseBeside1000).toFixed(2)}`);
  }
  const large = byRoutes[10_000];
  if (large !== undefined) console.log(`  goal ≥ 0.50: 10,000-route rate / 10-route rate                = ${(large / small).toFixed(2)}`);
  return { parse, byRoutes };
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('matcher.ts')) benchMatcher();
