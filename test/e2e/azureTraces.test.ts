import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ServiceBusClient } from '@azure/service-bus';
import { metrics, trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installFunctionsCore, stopSettlementServer } from '../fakes/functionsHost.ts';
import { parentSpanId, registerOtelMemory, spansOf, type OtelMemory } from '../fakes/otelMemory.ts';
import { type ServiceBusPeer } from '../fakes/serviceBusPeer.ts';
import { REPO, startAzureFunctionApp, type AzureFunctionApp } from '../fakes/azureFunctionApp.ts';

/*
 * The on-message function as deployed (functions/azure/app.ts through the stand-in Functions
 * host, the real @azure/service-bus against the AMQP peer, Table Storage fake), with the
 * OpenTelemetry SDK registered: a message's trace context — W3C `traceparent`, else
 * `Diagnostic-Id` — is continued by the route's spans and reaches the result messages as their
 * `traceparent` and `Diagnostic-Id` application properties.
 */

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';

const MESH_YAML = `
models:
  - { id: sim-azure-westeurope, provider: simulated, cloud: azure, region: westeurope, simulated: { latencyMs: 0 } }
  - { id: sim-azure-eastus, provider: simulated, cloud: azure, region: eastus, simulated: { latencyMs: 0 } }
residency:
  pii: same-region
sources:
  acme-support: { cloud: azure, region: westeurope }
destinations:
  support-topic: { kind: servicebus, namespace: acme-support, entity: tickets-triaged }
  audit-queue: { kind: servicebus, namespace: acme-audit, entity: triage-audit }
`;

let peer: ServiceBusPeer;
let client: ServiceBusClient;
let otel: OtelMemory;

let app: AzureFunctionApp;

beforeEach(async () => {
  app = await startAzureFunctionApp({
    prefix: 'nearmesh-azure-traces-',
    meshYaml: MESH_YAML,
    route: (yaml) => yaml.replace('to: [support-topic]', 'to: [support-topic, audit-queue]'),
    topics: { tickets: ['mesh'], 'tickets-triaged': ['agents'] },
    env: (peer) => ({ MESH_SERVICEBUS_ACME_AUDIT_CONNECTION: peer.connectionString }),
    createClaimsTable: true,
  });
  ({ peer, client } = app);
  otel = registerOtelMemory();
});

afterEach(async () => {
  await otel.shutdown();
  await app.close();
});

installFunctionsCore();
afterAll(stopSettlementServer);

/** Send a ticket as a producer would (binary-mode CloudEvent), with these trace properties. */
async function sendTicket(messageId: string, traceProperties: Record<string, string>): Promise<void> {
  const sample = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as { applicationProperties: Record<string, string>; body: unknown };
  const sender = client.createSender('tickets');
  await sender.sendMessages({
    messageId,
    contentType: 'application/json',
    applicationProperties: { ...sample.applicationProperties, 'cloudEvents:id': messageId, ...traceProperties },
    body: sample.body,
  });
  await sender.close();
}

function invokeOnMessage() {
  return app.invokeOnMessage();
}

describe('traces through the Azure Service Bus function', () => {
  it('continues the trace of a message that has only Diagnostic-Id, and writes traceparent and Diagnostic-Id on every result', async () => {
    await sendTicket('TCK-T1', { 'Diagnostic-Id': `00-${TRACE_ID}-${PARENT}-01` });

    const report = await invokeOnMessage();

    expect(report.settled, JSON.stringify(report)).toEqual([{ verb: 'complete', messageId: 'TCK-T1' }]);
    const spans = spansOf(otel.spans(), TRACE_ID);
    const [process, chat, send] = [spans.process[0]!, spans.chat[0]!, spans.send[0]!];
    expect(parentSpanId(process)).toBe(PARENT);
    expect(process.name).toBe('process tickets');
    expect(process.attributes).toMatchObject({
      'messaging.system': 'servicebus',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'tickets',
      'messaging.message.id': 'TCK-T1',
      'messaging.servicebus.message.delivery_count': 1,
    });
    expect(chat.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'nearmesh.simulated' });
    expect(parentSpanId(send)).toBe(process.spanContext().spanId);

    const carried = `00-${TRACE_ID}-${send.spanContext().spanId}-01`;
    for (const sent of [...peer.messages('tickets-triaged/Subscriptions/agents'), ...peer.messages('triage-audit')]) {
      expect(sent.applicationProperties).toMatchObject({ traceparent: carried, 'Diagnostic-Id': carried, 'cloudEvents:traceparent': carried });
      expect((sent.body as { lineage: { traceparent: string } }).lineage.traceparent).toBe(carried);
    }
    expect(peer.messages('triage-audit')).toHaveLength(1);
    const tokens = await otel.histogram('gen_ai.client.token.usage');
    expect(tokens.map((p) => p.attributes['gen_ai.token.type']).sort()).toEqual(['input', 'output']);
    expect(tokens[0]!.attributes).toMatchObject({ 'gen_ai.provider.name': 'nearmesh.simulated', 'gen_ai.request.model': 'sim-azure-westeurope' });
    expect((await otel.histogram('gen_ai.client.operation.duration'))[0]!.value.count).toBe(1);
  });

  it('exports its spans over OTLP/HTTP when the standard OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    await otel.shutdown(); // no SDK registered: the function starts its own export
    const received: string[] = [];
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/traces') received.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', `http://127.0.0.1:${(collector.address() as AddressInfo).port}`);
      vi.stubEnv('OTEL_BSP_SCHEDULE_DELAY', '50');
      await sendTicket('TCK-T4', { traceparent: `00-${TRACE_ID}-${PARENT}-01` });

      await invokeOnMessage();

      const exported = () =>
        received
          .flatMap((r) => (JSON.parse(r) as { resourceSpans: { scopeSpans: { spans: { traceId: string; name: string }[] }[] }[] }).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)))
          .filter((s) => s.traceId === TRACE_ID);
      for (let i = 0; i < 100 && exported().length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(exported().map((s) => s.name.split(' ')[0]).sort()).toEqual(['chat', 'process', 'send']);
      expect(received[0]).toContain('nearmesh-azure');
    } finally {
      trace.disable();
      metrics.disable();
      await new Promise((resolve) => collector.close(resolve));
    }
  });

  it('reads the W3C traceparent before Diagnostic-Id', async () => {
    await sendTicket('TCK-T2', { traceparent: `00-${TRACE_ID}-${PARENT}-01`, 'Diagnostic-Id': '00-99999999999999999999999999999999-9999999999999999-01' });

    await invokeOnMessage();

    expect(parentSpanId(spansOf(otel.spans(), TRACE_ID).process[0]!)).toBe(PARENT);
    expect(spansOf(otel.spans(), '99999999999999999999999999999999').all).toEqual([]);
  });

  it('processes a message whose trace properties are malformed in a new trace, never echoing them', async () => {
    await sendTicket('TCK-T3', { traceparent: 'not-a-traceparent', 'Diagnostic-Id': '|abc.1.' });

    const report = await invokeOnMessage();

    expect(report.settled).toEqual([{ verb: 'complete', messageId: 'TCK-T3' }]);
    const [sent] = peer.messages('tickets-triaged/Subscriptions/agents');
    expect(sent!.applicationProperties!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(JSON.stringify(sent)).not.toContain('not-a-traceparent');
    expect(JSON.stringify(sent)).not.toContain('|abc.1.');
  });
});
