import { readFile } from 'node:fs/promises';
import { decodeAny, parseJson } from '../../../shared/buses/index.ts';
import { loadMesh } from '../../../shared/config/index.ts';
import { nameUuid, toEventBridgeEvent, type Envelope, type MeshConfig, type Route } from '../../../shared/core/index.ts';
import { existsSync } from 'node:fs';
import { createPlacer, explainRoute, explanationToJson, formatPlacement, formatRouteUsage, readUsageReport, routeUsageJson, type UsageReport } from '../../../shared/placement/index.ts';
import { openLocalStore } from '../../../shared/store/index.ts';
import { adminRequest, findRunningDev } from '../devClient.ts';
import { compilePatterns, explainMismatch } from '../../../shared/rules/index.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError } from '../options.ts';

export const EXPLAIN_HELP = `mesh explain — where each matching route would send an event's data, and why

Usage: mesh explain --event <file> [--route <id>] [--json]

The file holds an EventBridge event, a PutEvents entry, a CloudEvent or a Service Bus
message (as for mesh emit). For each route the event matches, prints where the data lives
and its classification (and where each came from), every endpoint with its tier and
distance or the reason it was rejected, and the choice. With --route, explains that route
only, and says which field stops it matching if it does not. A route's budget and the rate
limits of its endpoints are shown with their use in the current window (read from the running
mesh dev, else from the store; "exhausted until <time>" when no call fits). No model is
called; no store or running mesh dev is needed.

Exit status: 0 when every matched route has an endpoint, 1 when some route has none
(policy violation), 2 for a usage error.
${COMMON_HELP}`;

/** A PutEvents entry gets its region from the call; mesh emit sends as from us-east-1, so explain does too. */
const PUT_EVENTS_REGION = 'us-east-1';

export async function explainCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { event: { type: 'string' }, route: { type: 'string' } });
  if (values.help) return (console.log(EXPLAIN_HELP), 0);
  if (typeof values.event !== 'string') throw new UsageError('mesh explain needs --event <file>');
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (the event file goes after --event)`);
  const opts = commonOptions(values);
  const { config, routes } = await loadMesh({ configFile: opts.config, routesDir: opts.routes });

  const wanted = typeof values.route === 'string' ? routes.find((r) => r.id === values.route) : undefined;
  if (typeof values.route === 'string' && !wanted) {
    throw new UsageError(`no route ${JSON.stringify(values.route)}; routes: ${routes.map((r) => r.id).join(', ')}`);
  }
  const envelope = await readOneEvent(values.event, config.sources);

  const view = toEventBridgeEvent(envelope);
  const matched = new Set(compilePatterns(Object.fromEntries(routes.map((r) => [r.id, r.match]))).matches(view));
  const asked = wanted ? [wanted] : routes;
  const placer = createPlacer(config);
  const explained = asked.filter((r) => matched.has(r.id)).map((r) => explainRoute(placer, r, envelope));
  const unmatched = asked.filter((r) => !matched.has(r.id)).map((r) => ({ route: r.id, reason: mismatch(r, view) }));

  const usage = await usageReport(config, routes, opts.home);
  if (opts.json) {
    const endpointsOf = (e: (typeof explained)[number]) => e.decision.ranked.map((r) => r.endpoint.id);
    const json: Record<string, unknown> = {
      routes: explained.map((e) => ({ ...explanationToJson(e), ...(usage ? routeUsageJson(usage, e.route.id, endpointsOf(e)) : {}) })),
    };
    if (explained.length === 0) json.unmatched = unmatched;
    console.log(JSON.stringify(json, null, 2));
  } else {
    console.log(`event ${envelope.event.id} · ${envelope.event.type} from ${envelope.event.source}`);
    for (const e of explained) {
      console.log('');
      console.log(formatPlacement(e.decision, e.route));
      if (usage) for (const line of formatRouteUsage(usage, e.route.id, e.decision.ranked.map((r) => r.endpoint.id))) console.log(line);
      if (e.error) console.log(`  error    ${e.error.code}: ${e.error.message}`);
    }
    if (explained.length === 0) {
      console.log(wanted ? `\nroute ${wanted.id} does not match this event:` : '\nno route matched; the first field each route disagrees on:');
      for (const u of unmatched) console.log(`  ${u.route.padEnd(20)} ${u.reason}`);
    }
  }
  return explained.some((e) => e.error) ? 1 : 0;
}

async function readOneEvent(file: string, sources: Parameters<typeof decodeAny>[1]['sources']): Promise<Envelope> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read event file ${file}: ${(err as Error).message}`);
  }
  // A PutEvents entry has no id until EventBridge gives it one; derive it from the file so the output is repeatable.
  const envelopes = decodeAny(parseJson(text, file), {
    sources,
    putEvents: { id: nameUuid(`nearmesh:explain:${text}`), now: new Date(), region: PUT_EVENTS_REGION, account: '000000000000' },
    httpOrigin: { transport: 'http', cloud: 'local' },
  });
  if (envelopes.length !== 1) {
    throw new UsageError(`${file} holds a batch of ${envelopes.length} events; mesh explain takes one (put it in a file of its own)`);
  }
  return envelopes[0]!;
}

/**
 * Budgets and limits with their current use, when the mesh declares any: from the running mesh
 * dev (which holds the store), else from the store when it exists and keeps counters; without
 * either the use is shown as unknown rather than guessed.
 */
async function usageReport(config: MeshConfig, routes: Route[], home: string): Promise<UsageReport | undefined> {
  if (!routes.some((r) => r.task.budget) && !config.models.some((m) => m.limits)) return undefined;
  const dev = await findRunningDev(home);
  if (dev) return (await adminRequest<{ usage: UsageReport }>(dev, '/_mesh/usage')).usage;
  if (!existsSync(home)) return readUsageReport(config, routes, undefined, Date.now());
  let store: Awaited<ReturnType<typeof openLocalStore>>;
  try {
    store = await openLocalStore({ dir: home });
  } catch {
    // Held by another process (a replay running): explain still answers, without the use.
    return readUsageReport(config, routes, undefined, Date.now());
  }
  try {
    return await readUsageReport(config, routes, store.counters, Date.now());
  } finally {
    await store.close();
  }
}

function mismatch(route: Route, view: unknown): string {
  return explainMismatch(route.match, view) ?? 'does not match';
}
