import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../shared/core/index.ts';
import { createLocalMesh, DevServer, type LocalMesh } from '../../../shared/runtime/index.ts';
import { parentSpanId, registerOtelMemory, spansOf, type OtelMemory } from '../../fakes/otelMemory.ts';

/*
 * mesh dev's ingress (PutEvents through the real AWS SDK client, CloudEvents over HTTP) with the
 * OpenTelemetry SDK registered and its in-memory exporter: one trace from the input's context
 * through the route's process span, its GenAI chat span and its send span to the result.
 */

const REPO = join(import.meta.dirname, '..', '..', '..');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const ORDER = { orderId: 'ORD-1', customer: { id: 'C-7', tier: 'gold', accountAgeDays: 900 }, total: 84.5, currency: 'USD', paymentMethod: 'card', shippingAddress: { country: 'US' }, billingAddress: { country: 'US' }, items: [{ sku: 'A', quantity: 1, unitPrice: 84.5 }] };

let home: string;
let mesh: LocalMesh;
let server: DevServer;
let url: string;
let otel: OtelMemory | undefined;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'nearmesh-traces-'));
  otel = registerOtelMemory();
  mesh = await createLocalMesh({ configFile: join(REPO, 'mesh.yaml'), routesDir: join(REPO, 'events', 'routes'), home });
  server = new DevServer({ mesh, port: 0 });
  url = `http://127.0.0.1:${await server.listen()}`;
});

afterEach(async () => {
  await server.close();
  await mesh.close();
  await otel?.shutdown();
  await rm(home, { recursive: true, force: true });
});

function cloudEvent(id: string, extensions: Record<string, string>) {
  return { specversion: '1.0', id, source: 'com.acme.orders', type: 'OrderPlaced', datacontenttype: 'application/json', awsregion: 'us-east-1', ...extensions, data: ORDER };
}

async function postCloudEvent(body: unknown, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${url}/cloudevents`, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json', ...headers }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

async function results(): Promise<Envelope[]> {
  return (await mesh.store.events.listEvents({ kind: 'result' })).map((e) => e.envelope);
}

type Lineage = { traceparent?: string; tracestate?: string };
const lineageOf = (r: Envelope) => (r.event.data as { lineage: Lineage }).lineage;

describe('traces through mesh dev', () => {
  it('keeps a CloudEvent traceparent: process, chat and send spans in its trace, and the result carries it', async () => {
    await postCloudEvent(cloudEvent('ce-trace-1', { traceparent: `00-${TRACE_ID}-${PARENT}-01`, tracestate: 'rojo=00f067aa0ba902b7' }));

    const [result] = await results();
    const spans = spansOf(otel!.spans(), TRACE_ID);
    expect(spans.process).toHaveLength(1);
    expect(spans.chat).toHaveLength(1);
    expect(spans.send).toHaveLength(1);
    const [process, chat, send] = [spans.process[0]!, spans.chat[0]!, spans.send[0]!];

    // Parenting: the input's span → process → (chat, send); the result carries the send span.
    expect(parentSpanId(process)).toBe(PARENT);
    expect(parentSpanId(chat)).toBe(process.spanContext().spanId);
    expect(parentSpanId(send)).toBe(process.spanContext().spanId);
    const carried = `00-${TRACE_ID}-${send.spanContext().spanId}-01`;
    expect(result!.event.extensions.traceparent).toBe(carried);
    expect(result!.event.extensions.tracestate).toBe('rojo=00f067aa0ba902b7');
    expect(lineageOf(result!)).toMatchObject({ traceparent: carried, tracestate: 'rojo=00f067aa0ba902b7' });

    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.attributes).toMatchObject({
      'messaging.system': 'cloudevents',
      'messaging.operation.name': 'process',
      'messaging.message.id': 'ce-trace-1',
      'nearmesh.route': 'order-risk',
    });
    expect(chat.kind).toBe(SpanKind.CLIENT);
    expect(chat.name).toBe('chat openai.gpt-oss-120b-1:0');
    const provenance = (result!.event.data as { provenance: { tokens: { input: number; output: number } } }).provenance;
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'nearmesh.simulated',
      'gen_ai.request.model': 'openai.gpt-oss-120b-1:0',
      'gen_ai.usage.input_tokens': provenance.tokens.input,
      'gen_ai.usage.output_tokens': provenance.tokens.output,
    });
    expect(provenance.tokens.input).toBeGreaterThan(0);
    expect(chat.attributes['error.type']).toBeUndefined();
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.attributes).toMatchObject({ 'messaging.operation.name': 'send', 'messaging.message.id': result!.event.id });
  });

  it('records gen_ai.client.token.usage by token type and gen_ai.client.operation.duration', async () => {
    await postCloudEvent(cloudEvent('ce-metrics-1', {}));
    const provenance = ((await results())[0]!.event.data as { provenance: { tokens: { input: number; output: number } } }).provenance;

    const usage = await otel!.histogram('gen_ai.client.token.usage');
    const byType = Object.fromEntries(usage.map((p) => [p.attributes['gen_ai.token.type'], p]));
    expect(byType.input?.value.sum).toBe(provenance.tokens.input);
    expect(byType.output?.value.sum).toBe(provenance.tokens.output);
    expect(byType.input?.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'nearmesh.simulated', 'gen_ai.request.model': 'openai.gpt-oss-120b-1:0' });
    const duration = await otel!.histogram('gen_ai.client.operation.duration');
    expect(duration).toHaveLength(1);
    expect(duration[0]!.value.count).toBe(1);
    expect(duration[0]!.value.sum).toBeGreaterThan(0);
  });

  it('derives the W3C trace id of a PutEvents entry from its X-Ray TraceHeader', async () => {
    const client = new EventBridgeClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const sent = await client.send(
      new PutEventsCommand({
        Entries: [{ Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify(ORDER), TraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' }],
      }),
    );
    client.destroy();
    expect(sent.FailedEntryCount).toBe(0);

    const [result] = await results();
    const spans = spansOf(otel!.spans(), '5759e988bd862e3fe1be46a994272793');
    expect(spans.process).toHaveLength(1);
    expect(parentSpanId(spans.process[0]!)).toBe('53995c3f42cd8ad8');
    expect(spans.process[0]!.attributes).toMatchObject({ 'messaging.system': 'aws_eventbridge', 'messaging.destination.name': 'default' });
    expect(result!.event.extensions.traceparent).toBe(`00-5759e988bd862e3fe1be46a994272793-${spans.send[0]!.spanContext().spanId}-01`);
  });

  it('uses the Diagnostic-Id of a Service Bus message that has no traceparent (mesh emit of a message file)', async () => {
    const message = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as { applicationProperties: Record<string, string> };
    message.applicationProperties['Diagnostic-Id'] = `00-${TRACE_ID}-${PARENT}-01`;

    const res = await fetch(`${url}/_mesh/ingest`, { method: 'POST', body: JSON.stringify(message) });
    expect(res.status).toBe(200);

    const [result] = await results();
    const spans = spansOf(otel!.spans(), TRACE_ID);
    expect(spans.process).toHaveLength(1);
    expect(parentSpanId(spans.process[0]!)).toBe(PARENT);
    expect(spans.process[0]!.attributes).toMatchObject({ 'messaging.system': 'servicebus', 'messaging.destination.name': 'tickets', 'messaging.servicebus.message.delivery_count': 1 });
    expect(result!.event.extensions.traceparent).toBe(`00-${TRACE_ID}-${spans.send[0]!.spanContext().spanId}-01`);
  });

  it('marks the process span of a route that failed with its error.type, and sends nothing', async () => {
    // The Stockholm ticket: pii data in a region no endpoint serves (PolicyViolation, no model call).
    const message = JSON.parse(await readFile(join(REPO, 'events', 'samples', '06-ticket-opened-stockholm.servicebus.json'), 'utf8')) as { applicationProperties: Record<string, string> };
    message.applicationProperties.traceparent = `00-${TRACE_ID}-${PARENT}-01`;

    await fetch(`${url}/_mesh/ingest`, { method: 'POST', body: JSON.stringify(message) });

    const spans = spansOf(otel!.spans(), TRACE_ID);
    expect(spans.process).toHaveLength(1);
    expect(spans.process[0]!.attributes).toMatchObject({ 'error.type': 'PolicyViolation', 'nearmesh.route.status': 'failed' });
    expect(spans.process[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans.chat).toEqual([]);
    expect(spans.send).toEqual([]);
  });

  it('takes the request’s own traceparent header for an event without one, never over the event’s', async () => {
    const header = '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01';
    await postCloudEvent(cloudEvent('ce-header-1', {}), { traceparent: header });
    await postCloudEvent(cloudEvent('ce-header-2', { traceparent: `00-${TRACE_ID}-${PARENT}-01` }), { traceparent: header });

    const traceOf = (id: string) => spansOf(otel!.spans(), id).process.map((p) => [p.attributes['messaging.message.id'], parentSpanId(p)]);
    expect(traceOf('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')).toEqual([['ce-header-1', 'bbbbbbbbbbbbbbbb']]);
    expect(traceOf(TRACE_ID)).toEqual([['ce-header-2', PARENT]]);
  });

  it('ignores a malformed traceparent: the event is processed in a new trace, and the garbage is not echoed', async () => {
    const garbage = `00-${TRACE_ID.toUpperCase()}-${PARENT}-01`;
    await postCloudEvent(cloudEvent('ce-bad-trace', { traceparent: garbage, tracestate: 'not a tracestate' }));

    const [result] = await results();
    expect(result).toBeDefined();
    const carried = String(result!.event.extensions.traceparent);
    expect(carried).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(carried).not.toContain(TRACE_ID);
    expect(result!.event.extensions.tracestate).toBeUndefined();
    expect(JSON.stringify(result)).not.toContain(garbage);
    const spans = spansOf(otel!.spans(), carried.slice(3, 35));
    expect(spans.process).toHaveLength(1);
    expect(parentSpanId(spans.process[0]!)).toBeUndefined();
  });

  it('passes the trace context on unchanged when no SDK is registered (no span was made to parent anything)', async () => {
    await otel!.shutdown(); // the API is a no-op again
    otel = undefined;

    await postCloudEvent(cloudEvent('ce-no-sdk', { traceparent: `00-${TRACE_ID}-${PARENT}-01` }));

    const [result] = await results();
    expect(result!.event.extensions.traceparent).toBe(`00-${TRACE_ID}-${PARENT}-01`);
    expect(lineageOf(result!).traceparent).toBe(`00-${TRACE_ID}-${PARENT}-01`);
  });

  it('starts a new trace for an event without one even when no SDK is registered', async () => {
    await otel!.shutdown();
    otel = undefined;

    await postCloudEvent(cloudEvent('ce-no-sdk-new', {}));

    const [result] = await results();
    expect(result!.event.extensions.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(lineageOf(result!).traceparent).toBe(result!.event.extensions.traceparent);
  });
});
