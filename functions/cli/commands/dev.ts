import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { decodeAny, parseJson } from '../../../shared/buses/index.ts';
import { DEFAULT_RETENTION } from '../../../shared/config/index.ts';
import { jsonLogger, randomIds, silentLogger, systemClock, type EventOutcome, type RouteOutcome } from '../../../shared/core/index.ts';
import { createLocalMesh, DevServer, outcomeToJson } from '../../../shared/runtime/index.ts';
import { otelExportWanted, startOtelExport } from '../../../shared/telemetry/otelExport.ts';
import { findRunningDev, newAdminToken, removeDevInfo, writeDevInfo } from '../devClient.ts';
import { describeConfig, outcomeLines, printable } from '../format.ts';
import { COMMON_HELP, commonOptions, modelsMode, parseCommand, portOption } from '../options.ts';
import { pruneSummary } from './prune.ts';

export const DEV_HELP = `mesh dev — run the mesh locally: simulated models, embedded store, local bus

Usage: mesh dev [--port <n>] [--samples <dir>] [--skip-samples] [--otel]

Loads mesh.yaml and the routes, serves the EventBridge PutEvents API at http://127.0.0.1:<port>
and CloudEvents at /cloudevents, pushes every file in the samples directory through the
pipeline once, then serves until Ctrl-C (requests in flight finish before it exits).

  --port <n>         port on 127.0.0.1 (env MESH_PORT; default 4010; 0 picks a free one)
  --samples <dir>    sample events to process at start (default events/samples)
  --skip-samples     do not process the samples
  --models <mode>    live (default): call each endpoint through its configured provider;
                     simulated: answer every endpoint with the simulated provider, keeping its
                     cloud and region (run a production catalogue offline). Env MESH_MODELS.
  --otel             export traces and metrics with OpenTelemetry over OTLP/HTTP (the standard
                     OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318; OTEL_TRACES_EXPORTER
                     / OTEL_METRICS_EXPORTER=console|none). Also on when those variables are set.
${COMMON_HELP}`;

export async function devCommand(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {
    port: { type: 'string' },
    samples: { type: 'string' },
    'skip-samples': { type: 'boolean', default: false },
    models: { type: 'string' },
    otel: { type: 'boolean', default: false },
  });
  if (values.help) return (console.log(DEV_HELP), 0);
  keepHeapSmall();
  const opts = commonOptions(values);
  const port = portOption(values.port);
  const models = values.models === undefined ? opts.models : modelsMode(values.models);
  const running = await findRunningDev(opts.home);
  if (running) {
    console.error(`mesh dev is already running for ${opts.home} (pid ${running.pid}, ${running.url}). Stop it with Ctrl-C, or set MESH_HOME to run a second one.`);
    return 1;
  }

  // The console lines below already say what happened to each event; structured logs are opt-in.
  const level = process.env.MESH_LOG_LEVEL as 'debug' | 'info' | 'warn' | 'error' | undefined;
  const logger = level ? jsonLogger({ level }) : silentLogger;
  // The SDK and its exporters are loaded only when asked for: before the mesh, so its first span counts.
  const otel = otelExportWanted(values.otel === true, process.env) ? await startOtelExport(process.env) : undefined;
  const mesh = await createLocalMesh({ configFile: opts.config, routesDir: opts.routes, home: opts.home, logger, models, prune: true });
  const modelsLine = models === 'simulated' ? 'every endpoint simulated (--models simulated)' : 'models as configured in mesh.yaml';
  console.log(`nearmesh dev — local mesh (${modelsLine}; store in ${displayPath(opts.home)})`);
  console.log(describeConfig(mesh.config, mesh.routes, relative(process.cwd(), opts.config), relative(process.cwd(), opts.routes)));
  if (otel) console.log(`OpenTelemetry: ${otel.description}`);
  if (mesh.pruned && mesh.pruned.events + mesh.pruned.resolvedFailures > 0) {
    console.log(pruneSummary(mesh.pruned, mesh.config.retention ?? DEFAULT_RETENTION));
  }

  const adminToken = newAdminToken();
  const server = new DevServer({
    mesh,
    port,
    logger,
    adminToken,
    onOutcome: (outcome: EventOutcome, via: string) => {
      if (via !== 'samples') printOutcome(outcome, via);
    },
    // A 500 is the mesh's own fault: the caller gets a short answer, the details are printed here.
    onInternalError: (err: unknown, request: string) => {
      consoleLines.flush();
      console.error(`✗ ${printable(request)} failed inside mesh dev: ${printable(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
    },
  });
  let bound: number;
  try {
    bound = await server.listen();
  } catch (err) {
    await mesh.close();
    await otel?.shutdown();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`port ${port} on 127.0.0.1 is in use: pass --port <n> or set MESH_PORT (0 picks a free port)`);
      return 1;
    }
    throw err;
  }
  const url = `http://127.0.0.1:${bound}`;
  await writeDevInfo(opts.home, { pid: process.pid, port: bound, url, startedAt: new Date().toISOString(), token: adminToken });
  console.log(`PutEvents endpoint: ${url}`);
  console.log(`CloudEvents endpoint: ${url}/cloudevents`);

  let stopping: Promise<void> | undefined;
  let samples: Promise<void> = Promise.resolve();
  const stop = (signal: string) => {
    stopping ??= (async () => {
      consoleLines.flush();
      console.log(`\n${signal}: finishing requests in flight, then closing the store…`);
      await Promise.allSettled([samples, server.close()]);
      await removeDevInfo(opts.home);
      await mesh.close();
      // Spans and metrics still buffered go out before the process ends.
      await otel?.shutdown();
      consoleLines.flush();
      console.log('mesh dev stopped; nothing in flight was dropped.');
    })();
    return stopping;
  };
  const done = new Promise<void>((resolveDone) => {
    process.once('SIGINT', () => void stop('SIGINT').then(resolveDone));
    process.once('SIGTERM', () => void stop('SIGTERM').then(resolveDone));
  });

  if (!values['skip-samples']) {
    const dir = resolve(String(values.samples ?? process.env.MESH_SAMPLES_DIR ?? 'events/samples'));
    // A Ctrl-C during the samples lets the current event finish and skips the rest.
    samples = processSamples(server, mesh.config.sources, dir, () => stopping !== undefined);
    await samples;
  }
  if (stopping) return (await done, 0);
  console.log(`\nServing on ${url} — send events with \`npm run mesh -- emit <file>\` or the AWS CLI/SDK (see README). Ctrl-C to stop.`);
  await done;
  return 0;
}

async function processSamples(server: DevServer, sources: Parameters<typeof decodeAny>[1]['sources'], dir: string, stopped: () => boolean): Promise<void> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch {
    console.log(`\nNo samples directory at ${dir}; skipping samples.`);
    return;
  }
  console.log(`\nSamples (${relative(process.cwd(), dir)}, ${files.length} files):`);
  const totals = { emitted: 0, duplicate: 0, failed: 0, unmatched: 0, invalid: 0 };
  for (const file of files) {
    if (stopped()) {
      console.log('  (stopping: remaining samples skipped)');
      return;
    }
    let envelopes;
    try {
      const doc = parseJson(await readFile(join(dir, file), 'utf8'), file);
      envelopes = decodeAny(doc, {
        sources,
        putEvents: { id: randomIds.newId(), now: systemClock.now(), region: 'us-east-1', account: '000000000000' },
        httpOrigin: { transport: 'http', cloud: 'local' },
      });
    } catch (err) {
      totals.invalid++;
      console.log(`  ${printable(file)}\n    ✗ not a valid event: ${printable((err as Error).message)}`);
      continue;
    }
    for (const outcome of await server.ingest(envelopes, 'samples')) {
      console.log(`  ${printable(file)}: ${outcomeLines(outcomeToJson(outcome)).join('\n')}`);
      if (outcome.routes.length === 0) totals.unmatched++;
      for (const r of outcome.routes) {
        if (r.status === 'emitted') totals.emitted++;
        else if (r.status === 'duplicate') totals.duplicate++;
        else if (r.status === 'failed') totals.failed++;
      }
    }
  }
  console.log(
    `Samples done: ${totals.emitted} results emitted, ${totals.duplicate} duplicates skipped, ${totals.failed} failed (see \`npm run mesh -- failed\`), ${totals.unmatched} unmatched${totals.invalid ? `, ${totals.invalid} invalid files` : ''}.`,
  );
}

/**
 * One line per event served, built from the outcome as it is: at hundreds of events a second
 * the console must not cost more than the event (the samples at start keep the long form, with
 * the placement's reasons). Lines written in the same turn of the event loop go out in one write.
 */
function printOutcome(outcome: EventOutcome, via: string): void {
  consoleLines.write(printable(`[${via}] ${outcome.type} ${outcome.eventId} from ${outcome.source}: ${outcome.routes.length === 0 ? 'no route matched' : outcome.routes.map(routeSummary).join('; ')}`));
}

function routeSummary(r: RouteOutcome): string {
  switch (r.status) {
    case 'emitted':
      return `✓ ${r.routeId} → ${r.endpoint ?? '?'}${r.attempts.length > 1 ? ` after ${r.attempts.length} attempts` : ''}, emitted ${r.result?.event.type ?? ''} ${r.resultId ?? ''} to ${(r.destinations ?? []).join(', ')} · ${r.latencyMs} ms`;
    case 'duplicate':
      return `= ${r.routeId}: already processed; result ${r.resultId ?? ''} was emitted before (not emitted again)`;
    case 'in-progress':
      return `… ${r.routeId}: another delivery of this event is being processed`;
    case 'pending-approval':
      return `⏸ ${r.routeId} → ${r.endpoint ?? '?'}: result ${r.resultId ?? ''} held for approval, PendingApproval sent to ${(r.destinations ?? []).join(', ')} (mesh approve ${r.resultId ?? ''}) · ${r.latencyMs} ms`;
    case 'approved':
      return `✓ ${r.routeId}: result ${r.resultId ?? ''} approved, published to ${(r.destinations ?? []).join(', ')}`;
    case 'rejected':
      return `⊘ ${r.routeId}: result ${r.resultId ?? ''} rejected; nothing published`;
    default:
      return `✗ ${r.routeId} failed: ${r.error?.code ?? 'Error'}: ${r.error?.message ?? ''} (mesh failed show ${r.failureId ?? '?'})`;
  }
}

/** Lines for stdout, written together once the event loop has run what was ready. */
const consoleLines = (() => {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = `${pending.join('\n')}\n`;
    pending = [];
    process.stdout.write(text);
  };
  return {
    write(line: string) {
      if (pending.length === 0) setImmediate(flush);
      pending.push(line);
    },
    flush,
  };
})();

/**
 * mesh dev is a long-running server on a developer's machine, beside their editor and browser:
 * its heap should stay near what it holds, not near what V8 would let it reach. Two garbage
 * collector settings, which V8 reads whenever it sizes the heap (so they apply after start,
 * unlike `--max-semi-space-size`, which only a flag to node itself can set):
 *
 * - the young generation stays at its starting size instead of doubling up to 64 MB: an
 *   event's objects die within a few milliseconds, and a larger nursery only holds more dead
 *   ones between scavenges;
 * - the old generation grows by half its live size before a full collection, not up to four
 *   times, so what the nursery promotes is collected at ~40 MB rather than ~100.
 *
 * Measured with test/bench/meshMemory.ts (README, Overhead and memory). Flags given to node by
 * the user (NODE_OPTIONS, or on its command line) win.
 */
function keepHeapSmall(): void {
  const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (/semi[-_]space|heap[-_]growing/.test(given)) return;
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--heap-growing-percent=50');
}

/** Paths under the working directory print relative, others absolute. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}
