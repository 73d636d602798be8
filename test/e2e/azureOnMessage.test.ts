import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServiceBusClient } from '@azure/service-bus';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installFunctionsCore, stopSettlementServer, type InvocationReport } from '../fakes/functionsHost.ts';
import { type ServiceBusPeer } from '../fakes/serviceBusPeer.ts';
import { type TableStorageFake } from '../fakes/tableStorageFake.ts';
import { REPO, startAzureFunctionApp, type AzureFunctionApp } from '../fakes/azureFunctionApp.ts';

/*
 * The on-message function end to end without Azure, as deployed: the registration module
 * (functions/azure/app.ts) is loaded by the real @azure/functions library, which a stand-in
 * Functions host drives through its own invocation model (test/fakes/functionsHost.ts): the
 * trigger input is the host's model binding data for `sdkBinding: true`, decoded by the real
 * settlement extension, whose actions call the host's Settlement gRPC service, which settles
 * on the real @azure/service-bus receiver against the AMQP peer (peek-lock, lock expiry,
 * delivery count, MaxDeliveryCount, dead-letter subqueue). Claims go to Table Storage through
 * the real @azure/data-tables client and its fake. Locks last 3 s and holds before an abandon
 * at most 0.2 s unless a test says otherwise, so the file stays fast.
 */


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

let dir: string;
let peer: ServiceBusPeer;
let tables: TableStorageFake;
let client: ServiceBusClient;

let app: AzureFunctionApp;

beforeEach(async () => {
  app = await startAzureFunctionApp({
    prefix: 'nearmesh-azure-',
    meshYaml: MESH_YAML,
    // One model call per endpoint: a Retry-After reaches the handler rather than being waited out inside the route.
    route: (yaml) => yaml.replace('to: [support-topic]', 'to: [support-topic, audit-queue]').replace('  maxTokens: 300', '  maxTokens: 300\n  attemptsPerEndpoint: 1'),
    topics: { tickets: ['mesh', 'archive'], 'tickets-triaged': ['agents'] },
    // Another namespace: in this spec the same peer plays it.
    env: (peer) => ({ MESH_SERVICEBUS_ACME_AUDIT_CONNECTION: peer.connectionString }),
    createClaimsTable: true,
  });
  ({ dir, peer, tables, client } = app);
});

afterEach(() => app.close());

/** Import the registration module (as the worker does at start) and run one invocation of on-message. */
function invokeOnMessage(): Promise<InvocationReport> {
  return app.invokeOnMessage();
}

async function publishTicket(messageId: string, body: unknown, extra: { subject?: string } = {}) {
  const sample = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as { applicationProperties: Record<string, string> };
  const sender = client.createSender('tickets');
  await sender.sendMessages({
    messageId,
    contentType: 'application/json',
    correlationId: 'corr-42',
    ...(extra.subject ? { subject: extra.subject } : {}),
    applicationProperties: { ...sample.applicationProperties, 'cloudEvents:id': messageId },
    body,
  });
  await sender.close();
}

installFunctionsCore();
afterAll(stopSettlementServer);

const TICKET = async () => (JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as { body: unknown }).body;

describe('on-message through the Functions host, Service Bus and Table Storage', () => {
  it('registers one batch trigger with deferred (SDK) binding and manual settlement, and no output binding', async () => {
    const registered = installFunctionsCore();
    await import('../../functions/azure/app.ts');

    const { bindings } = registered.get('on-message')!.metadata;
    expect(Object.values(bindings)).toEqual([
      expect.objectContaining({ type: 'serviceBusTrigger', direction: 'in', topicName: '%MESH_INPUT_TOPIC%', subscriptionName: '%MESH_SUBSCRIPTION%', cardinality: 'many', autoCompleteMessages: false, connection: 'ServiceBusConnection', properties: { supportsDeferredBinding: 'true' } }),
    ]);
  });

  it('triages a ticket: every result goes out through a sender with messageId and properties (same and other namespace), then the input is completed', async () => {
    await publishTicket('TCK-1', await TICKET());

    const report = await invokeOnMessage();

    expect(report.error).toBeUndefined();
    expect(report.settled).toEqual([{ verb: 'complete', messageId: 'TCK-1' }]);
    expect(report.outputs).toEqual({});
    const [toAgents] = peer.messages('tickets-triaged/Subscriptions/agents');
    const [toAudit] = peer.messages('triage-audit');
    expect(toAgents).toMatchObject({ subject: 'TicketTriaged', correlationId: 'corr-42', applicationProperties: { 'cloudEvents:causationid': 'TCK-1', 'cloudEvents:meshroute': 'ticket-triage' } });
    const body = toAgents!.body as { result: { priority: string }; provenance: { region: string } };
    expect(body.result.priority).toMatch(/^p[1-4]$/);
    expect(body.provenance.region).toBe('westeurope');
    // messageId = result id: Service Bus duplicate detection drops a redelivery's second send.
    expect(toAudit).toMatchObject({ messageId: toAgents!.messageId, correlationId: 'corr-42', subject: 'TicketTriaged' });
    expect(peer.messages('tickets/Subscriptions/mesh')).toEqual([]);
    expect(tables.entities('meshidempotency')).toMatchObject([{ PartitionKey: 'ticket-triage', RowKey: 'TCK-1', status: 'completed', resultId: toAgents!.messageId }]);
  });

  it('sends the result of a route without destination back to the input topic, where another subscription receives it', async () => {
    const route = await readFile(join(dir, 'events', 'routes', 'ticket-triage.yaml'), 'utf8');
    await writeFile(join(dir, 'events', 'routes', 'ticket-triage.yaml'), route.replace('  to: [support-topic, audit-queue]\n', ''));
    vi.stubEnv('MESH_RESULTS_ENTITY', '');
    await publishTicket('TCK-5', await TICKET());

    const report = await invokeOnMessage();

    expect(report.settled).toEqual([{ verb: 'complete', messageId: 'TCK-5' }]);
    const archived = peer.messages('tickets/Subscriptions/archive').filter((m) => m.subject === 'TicketTriaged');
    expect(archived).toMatchObject([{ correlationId: 'corr-42', applicationProperties: { 'cloudEvents:causationid': 'TCK-5', 'cloudEvents:meshroute': 'ticket-triage' } }]);
    expect(peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue')).toEqual([]);
    expect(tables.entities('meshidempotency')).toMatchObject([{ RowKey: 'TCK-5', status: 'completed', resultId: archived[0]!.messageId }]);
  });

  it('does not complete a message whose result could not be sent (MESH_RESULTS_ENTITY set): abandoned, and the result goes out on the redelivery', async () => {
    peer.failSends('tickets-triaged', 1);
    await publishTicket('TCK-6', await TICKET());

    const first = await invokeOnMessage();
    const pending = peer.messages('tickets/Subscriptions/mesh');
    const second = await invokeOnMessage();

    expect(first.settled.map((s) => s.verb)).toEqual(['renew', 'abandon']);
    expect(pending).toMatchObject([{ messageId: 'TCK-6', deliveryCount: 1 }]);
    expect(second.settled).toEqual([{ verb: 'complete', messageId: 'TCK-6' }]);
    expect(peer.messages('tickets-triaged/Subscriptions/agents')).toMatchObject([{ subject: 'TicketTriaged', applicationProperties: { 'cloudEvents:causationid': 'TCK-6' } }]);
    expect(peer.messages('tickets/Subscriptions/mesh')).toEqual([]);
  });

  it('abandons (never dead-letters) a message while the idempotency table refuses access, logs why, and processes it once access is back', async () => {
    await publishTicket('TCK-7', await TICKET());
    tables.failNext(1_000, 403);

    const refused = await invokeOnMessage();
    const kept = peer.messages('tickets/Subscriptions/mesh');
    tables.failNext(0);
    const healed = await invokeOnMessage();

    expect(refused.settled.map((s) => s.verb)).toEqual(['renew', 'abandon']);
    expect(refused.logs.find((l) => l.level === 'Warning' || /warn/i.test(l.level))?.message).toMatch(/abandoned[\s\S]*(StoreUnavailable|IdempotencyStoreUnavailable|EdgeUnavailable)/);
    expect(kept).toMatchObject([{ messageId: 'TCK-7', deliveryCount: 1 }]);
    expect(peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue')).toEqual([]);
    expect(healed.settled).toEqual([{ verb: 'complete', messageId: 'TCK-7' }]);
  });

  it('abandons (never dead-letters) every message while a setting is missing, and says which', async () => {
    vi.stubEnv('AzureWebJobsStorage', '');
    await publishTicket('TCK-8', await TICKET());

    const report = await invokeOnMessage();

    expect(report.error).toBeUndefined();
    expect(report.settled.map((s) => s.verb)).toEqual(['renew', 'abandon']);
    expect(report.logs.map((l) => l.message).join('\n')).toMatch(/EdgeUnavailable[\s\S]*MESH_IDEMPOTENCY_TABLE and AzureWebJobsStorage/);
    expect(peer.messages('tickets/Subscriptions/mesh')).toMatchObject([{ messageId: 'TCK-8', deliveryCount: 1 }]);
  });

  it('spaces redeliveries of a throttled message by the Retry-After (2 s), measured between the deliveries Service Bus makes', async ({ annotate }) => {
    vi.stubEnv('MESH_RETRY_WAIT_MAX_SECONDS', '10');
    // The second delivery is the last: it is dead-lettered at once instead of held again.
    vi.stubEnv('MESH_MAX_DELIVERY_COUNT', '2');
    const yaml = await readFile(join(dir, 'mesh.yaml'), 'utf8');
    await writeFile(join(dir, 'mesh.yaml'), yaml.replaceAll('simulated: { latencyMs: 0 }', 'simulated: { latencyMs: 0, retryAfterMs: 2000, faults: { throttle: 1 } }'));
    await publishTicket('TCK-rl', await TICKET());

    const runs = [await invokeOnMessage(), await invokeOnMessage()];

    const at = peer.deliveries('tickets/Subscriptions/mesh').filter((d) => d.messageId === 'TCK-rl').map((d) => d.at);
    const gap = at[1]! - at[0]!;
    await annotate(`delivery 1 → 2 spacing: ${gap} ms (Retry-After 2000 ms)`);
    expect(runs.map((r) => r.settled.map((s) => s.verb))).toEqual([['renew', 'abandon'], ['deadletter']]);
    expect(at).toHaveLength(2);
    expect(gap).toBeGreaterThanOrEqual(2_000);
    // Hold (Retry-After + ≤ 10 % jitter), plus the first invocation's cold start and the receiver's
    // wait for a fuller batch (up to 1 s after the first message); the lower bound is the point.
    expect(gap).toBeLessThan(2_000 * 1.1 + 3_000);
  });

  it('dead-letters a message it cannot read at once, with the mesh error code as DeadLetterReason', async () => {
    await publishTicket('BAD-1', 'not a ticket');

    const report = await invokeOnMessage();

    expect(report.error).toBeUndefined();
    expect(report.settled).toEqual([{ verb: 'deadletter', messageId: 'BAD-1', reason: 'InvalidEvent', description: expect.stringMatching(/message/) }]);
    expect(peer.messages('tickets/Subscriptions/mesh')).toEqual([]);
    expect(peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue')).toMatchObject([
      { messageId: 'BAD-1', deliveryCount: 1, applicationProperties: { DeadLetterReason: 'InvalidEvent', DeadLetterErrorDescription: expect.stringMatching(/message/) } },
    ]);
  });

  it('abandons a retryable failure so it is delivered again, then dead-letters it with the mesh error on the last allowed delivery', async () => {
    const yaml = await readFile(join(dir, 'mesh.yaml'), 'utf8');
    await writeFile(join(dir, 'mesh.yaml'), yaml.replaceAll('simulated: { latencyMs: 0 }', 'simulated: { latencyMs: 0, retryAfterMs: 1, faults: { throttle: 1 } }'));
    await publishTicket('TCK-busy', await TICKET());

    const runs = [await invokeOnMessage(), await invokeOnMessage(), await invokeOnMessage()];

    expect(runs.map((r) => r.settled.map((s) => s.verb).filter((v) => v !== 'renew'))).toEqual([['abandon'], ['abandon'], ['deadletter']]);
    expect(runs.every((r) => r.error === undefined)).toBe(true);
    const [dead] = peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue');
    expect(dead).toMatchObject({ messageId: 'TCK-busy', deliveryCount: 3 });
    expect(dead!.applicationProperties.DeadLetterReason).not.toBe('MaxDeliveryCountExceeded');
    expect(dead!.applicationProperties.DeadLetterReason).toBe(runs[2]!.settled[0]!.reason);
    expect(dead!.applicationProperties.DeadLetterErrorDescription).toMatch(/^\[ticket-triage\] /);
    expect(peer.messages('tickets-triaged/Subscriptions/agents')).toEqual([]);
  });

  it('registers a daily purge-claims timer that deletes claims past their keep time and leaves the rest', async () => {
    const registered = installFunctionsCore();
    await import('../../functions/azure/app.ts');
    const timer = registered.get('purge-claims')!;
    expect(Object.values(timer.metadata.bindings)).toEqual([expect.objectContaining({ type: 'timerTrigger', direction: 'in', schedule: '0 17 3 * * *' })]);
    const { TableClient } = await import('@azure/data-tables');
    const table = TableClient.fromConnectionString(tables.connectionString, 'meshidempotency', { allowInsecureConnection: true });
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    await table.createEntity({ partitionKey: 'ticket-triage', rowKey: 'OLD-1', status: 'completed', resultId: 'r-1', expiresAt: hourAgo });
    await table.createEntity({ partitionKey: 'ticket-triage', rowKey: 'STUCK-1', status: 'in-progress', expiresAt: hourAgo });
    await table.createEntity({ partitionKey: 'ticket-triage', rowKey: 'NEW-1', status: 'completed', resultId: 'r-2', expiresAt: tomorrow });
    const { InvocationContext } = await import('@azure/functions');

    await timer.handler({ isPastDue: false }, new InvocationContext({ functionName: 'purge-claims' }));

    expect(tables.entities('meshidempotency').map((e) => e.RowKey)).toEqual(['NEW-1']);
  });

  it('settles a mixed batch per message: the good one emits and completes, the bad one is dead-lettered', async () => {
    await publishTicket('TCK-2', await TICKET());
    await publishTicket('BAD-3', '{ truncated');

    const report = await invokeOnMessage();

    expect(report.messages).toBe(2);
    expect(report.settled).toEqual(expect.arrayContaining([{ verb: 'complete', messageId: 'TCK-2' }, expect.objectContaining({ verb: 'deadletter', messageId: 'BAD-3' })]));
    expect(peer.messages('tickets-triaged/Subscriptions/agents').map((m) => m.applicationProperties['cloudEvents:causationid'])).toEqual(['TCK-2']);
    expect(peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue').map((m) => m.messageId)).toEqual(['BAD-3']);
    expect(peer.messages('tickets/Subscriptions/mesh')).toEqual([]);
  });
});
