import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO, startDev, type DevProcess } from './devProcess.ts';

/*
 * `mesh dev --otel` as a user runs it, exporting over OTLP/HTTP to a collector stand-in that
 * keeps what it is sent; and `mesh dev` without it, which must not load the OpenTelemetry SDK
 * or any exporter (a preloaded resolve hook records every @opentelemetry/* import).
 */

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const HOOK = pathToFileURL(join(REPO, 'test', 'fixtures', 'otel', 'recordImports.mjs')).href;
const ORDER = { orderId: 'ORD-9', customer: { id: 'C-1', tier: 'gold', accountAgeDays: 900 }, total: 20, currency: 'USD', paymentMethod: 'card', shippingAddress: { country: 'US' }, billingAddress: { country: 'US' }, items: [{ sku: 'A', quantity: 1, unitPrice: 20 }] };

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

let collector: Server;
let collectorUrl: string;
let received: { path: string; body: unknown }[];
let dir: string;
let dev: DevProcess | undefined;

beforeEach(async () => {
  received = [];
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-otel-'));
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  collectorUrl = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;
});

afterEach(async () => {
  await dev?.dispose();
  dev = undefined;
  await new Promise((resolve) => collector.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function postOrder(id: string): Promise<void> {
  const res = await fetch(`${dev!.url}/cloudevents`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({ specversion: '1.0', id, source: 'com.acme.orders', type: 'OrderPlaced', awsregion: 'us-east-1', traceparent: `00-${TRACE_ID}-${PARENT}-01`, data: ORDER }),
  });
  expect(res.status).toBe(200);
}

function exportedSpans(): OtlpSpan[] {
  return received
    .filter((r) => r.path === '/v1/traces')
    .flatMap((r) => (r.body as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }).resourceSpans)
    .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}

function exportedMetricNames(): string[] {
  return received
    .filter((r) => r.path === '/v1/metrics')
    .flatMap((r) => (r.body as { resourceMetrics: { scopeMetrics: { metrics: { name: string }[] }[] }[] }).resourceMetrics)
    .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name)));
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}; collector got ${JSON.stringify(received.map((r) => r.path))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('mesh dev and OpenTelemetry export', () => {
  it('exports the trace of an event (process, chat, send spans under its traceparent) and the GenAI metrics over OTLP/HTTP with --otel', async () => {
    dev = await startDev(['--skip-samples', '--otel'], {
      MESH_HOME: dir,
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRIC_EXPORT_INTERVAL: '300',
      OTEL_SERVICE_NAME: 'nearmesh-e2e',
    });
    expect(dev.output()).toContain(`OpenTelemetry: traces → OTLP/HTTP ${collectorUrl}`);

    await postOrder('otel-e2e-1');

    const spans = await until('three spans of the trace', () => {
      const inTrace = exportedSpans().filter((s) => s.traceId === TRACE_ID);
      return inTrace.length >= 3 ? inTrace : undefined;
    });
    const process = spans.find((s) => s.name.startsWith('process'))!;
    const chat = spans.find((s) => s.name.startsWith('chat '))!;
    const send = spans.find((s) => s.name.startsWith('send'))!;
    expect(process.parentSpanId).toBe(PARENT);
    expect(chat.parentSpanId).toBe(process.spanId);
    expect(send.parentSpanId).toBe(process.spanId);
    expect(chat.attributes.map((a) => a.key)).toEqual(expect.arrayContaining(['gen_ai.operation.name', 'gen_ai.provider.name', 'gen_ai.request.model', 'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens']));
    const service = (received.find((r) => r.path === '/v1/traces')!.body as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] } }[] }).resourceSpans[0]!.resource.attributes;
    expect(service).toContainEqual({ key: 'service.name', value: { stringValue: 'nearmesh-e2e' } });

    const names = await until('the GenAI metrics', () => {
      const n = exportedMetricNames();
      return n.includes('gen_ai.client.token.usage') && n.includes('gen_ai.client.operation.duration') ? n : undefined;
    });
    expect(names).toEqual(expect.arrayContaining(['gen_ai.client.token.usage', 'gen_ai.client.operation.duration']));
  });

  it('loads no OpenTelemetry SDK or exporter without --otel or OTEL_* variables, and exports nothing', async () => {
    const log = join(dir, 'imports.log');
    const env: Record<string, string> = { MESH_HOME: dir, NODE_OPTIONS: `--import=${HOOK}`, MESH_TEST_IMPORT_LOG: log };
    for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) env[k] = '';
    dev = await startDev(['--skip-samples'], env);

    await postOrder('otel-e2e-2');
    await dev.stop();

    const imported = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    // The hook works (the API is imported by the mesh), and nothing else of OpenTelemetry was.
    expect(imported).toContain('@opentelemetry/api');
    expect(imported.filter((s) => s !== '@opentelemetry/api')).toEqual([]);
    expect(dev.output()).not.toContain('OpenTelemetry:');
    expect(received).toEqual([]);
  });
});
