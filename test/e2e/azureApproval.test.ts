import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServiceBusClient } from '@azure/service-bus';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resultId } from '../../shared/core/index.ts';
import { installFunctionsCore, stopSettlementServer, type InvocationReport } from '../fakes/functionsHost.ts';
import { type ServiceBusPeer } from '../fakes/serviceBusPeer.ts';
import { type TableStorageFake } from '../fakes/tableStorageFake.ts';
import { startAzureFunctionApp, type AzureFunctionApp } from '../fakes/azureFunctionApp.ts';

/*
 * Approval through the Azure function as deployed (registration module, stand-in Functions
 * host, Service Bus AMQP peer, Table Storage fake): the held result is kept in the
 * idempotency table, TicketTriaged.PendingApproval goes out in its place, and an approval
 * message (CloudEvent type nearmesh.Approval from the approvals source) releases it once.
 */

const REPO = join(import.meta.dirname, '..', '..');
const MESH_YAML = `
models:
  - { id: sim-azure-westeurope, provider: simulated, cloud: azure, region: westeurope, simulated: { latencyMs: 0 } }
residency:
  pii: same-region
sources:
  acme-support: { cloud: azure, region: westeurope }
destinations:
  support-topic: { kind: servicebus, namespace: acme-support, entity: tickets-triaged }
approvals:
  source: com.acme.support-leads
`;

let peer: ServiceBusPeer;
let tables: TableStorageFake;
let client: ServiceBusClient;

let app: AzureFunctionApp;

beforeEach(async () => {
  app = await startAzureFunctionApp({
    prefix: 'nearmesh-azure-approval-',
    meshYaml: MESH_YAML,
    route: (yaml) => yaml.replace('  models: [sim-azure-westeurope, sim-azure-eastus]', '  models: [sim-azure-westeurope]') + '\napproval: required\n',
    topics: { tickets: ['mesh'], 'tickets-triaged': ['agents'] },
  });
  ({ peer, tables, client } = app);
});

afterEach(() => app.close());

installFunctionsCore();
afterAll(stopSettlementServer);

function invokeOnMessage(): Promise<InvocationReport> {
  return app.invokeOnMessage();
}

async function send(messageId: string, type: string, source: string, body: unknown) {
  const sender = client.createSender('tickets');
  await sender.sendMessages({
    messageId,
    contentType: 'application/json',
    applicationProperties: { 'cloudEvents:specversion': '1.0', 'cloudEvents:id': messageId, 'cloudEvents:source': source, 'cloudEvents:type': type },
    body,
  });
  await sender.close();
}

async function sendTicket(id: string) {
  const sample = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as { body: unknown };
  await send(id, 'TicketOpened', 'com.acme.support', sample.body);
}

const triaged = () => peer.messages('tickets-triaged/Subscriptions/agents');
const held = () => tables.entities('meshidempotency').filter((e) => e.PartitionKey === '_approvals');

describe('approval through the Azure function (Service Bus, Table Storage)', () => {
  it('holds the result in Table Storage, sends TicketTriaged.PendingApproval without the triage, and completes the ticket', async () => {
    await sendTicket('TCK-1');

    const report = await invokeOnMessage();

    const id = resultId('ticket-triage', 'TCK-1');
    expect(report.settled).toEqual([{ verb: 'complete', messageId: 'TCK-1' }]);
    expect(triaged()).toMatchObject([{ subject: 'TicketTriaged.PendingApproval', body: { resultId: id, route: 'ticket-triage', inputId: 'TCK-1' } }]);
    expect(triaged()[0]!.body).not.toHaveProperty('output');
    expect(held()).toMatchObject([{ resultId: id, status: 'pending' }]);
  });

  it('releases the held result once on an approval message, even when the approval arrives twice', async () => {
    await sendTicket('TCK-2');
    await invokeOnMessage();
    const id = resultId('ticket-triage', 'TCK-2');

    await send('APR-1', 'nearmesh.Approval', 'com.acme.support-leads', { resultId: id, decision: 'approve', actor: 'lead@acme' });
    const approved = await invokeOnMessage();
    await send('APR-2', 'nearmesh.Approval', 'com.acme.support-leads', { resultId: id, decision: 'approve', actor: 'lead@acme' });
    const again = await invokeOnMessage();

    expect(approved.settled).toEqual([{ verb: 'complete', messageId: 'APR-1' }]);
    expect(again.settled).toEqual([{ verb: 'complete', messageId: 'APR-2' }]);
    expect(triaged().map((m) => m.subject)).toEqual(['TicketTriaged.PendingApproval', 'TicketTriaged']);
    const released = triaged()[1]!;
    expect(released.messageId).toBe(id);
    expect((released.body as { result: { priority: string } }).result.priority).toMatch(/^p[1-4]$/);
    expect(held()).toMatchObject([{ status: 'approved', actor: 'lead@acme' }]);
  });

  it('releases it once when two approvals arrive in the same batch (processed side by side)', async () => {
    await sendTicket('TCK-4');
    await invokeOnMessage();
    const id = resultId('ticket-triage', 'TCK-4');

    await send('APR-3', 'nearmesh.Approval', 'com.acme.support-leads', { resultId: id, decision: 'approve', actor: 'ana' });
    await send('APR-4', 'nearmesh.Approval', 'com.acme.support-leads', { resultId: id, decision: 'approve', actor: 'bo' });
    const report = await invokeOnMessage();

    expect(report.settled.filter((s) => s.verb === 'complete').map((s) => s.messageId).sort()).toEqual(['APR-3', 'APR-4']);
    expect(triaged().map((m) => m.subject)).toEqual(['TicketTriaged.PendingApproval', 'TicketTriaged']);
  });

  it('records a rejection with its reason and sends nothing; an approval from another source is dead-lettered with the reason', async () => {
    await sendTicket('TCK-3');
    await invokeOnMessage();
    const id = resultId('ticket-triage', 'TCK-3');

    await send('FORGED-1', 'nearmesh.Approval', 'com.acme.support', { resultId: id, decision: 'approve', actor: 'mallory' });
    const forged = await invokeOnMessage();
    await send('REJ-1', 'nearmesh.Approval', 'com.acme.support-leads', { resultId: id, decision: 'reject', actor: 'lead@acme', reason: 'wrong category' });
    const rejected = await invokeOnMessage();

    expect(forged.settled).toEqual([expect.objectContaining({ verb: 'deadletter', messageId: 'FORGED-1', reason: 'ApprovalSourceRefused' })]);
    expect(forged.settled[0]!.description).toMatch(/accepted only from "com\.acme\.support-leads"/);
    expect(rejected.settled).toEqual([{ verb: 'complete', messageId: 'REJ-1' }]);
    expect(triaged().map((m) => m.subject)).toEqual(['TicketTriaged.PendingApproval']);
    expect(held()).toMatchObject([{ status: 'rejected', actor: 'lead@acme', reason: 'wrong category' }]);
  });
});
