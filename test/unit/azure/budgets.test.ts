import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { InvocationContext } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createOnMessageHandler, type SettlementActions, type TriggerMessage } from '../../../functions/azure/on-message.ts';
import { counterWindow, usageKeys, type Envelope, type Publisher, type UsageCounters } from '../../../shared/core/index.ts';
import { createAzureMesh, type AzureMesh } from '../../../shared/runtime/createAzureMesh.ts';
import { createTableStore } from '../../../shared/store/tables/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { ScriptedProvider } from '../../fakes/scriptedProvider.ts';
import { startTableStorageFake, type TableStorageFake } from '../../fakes/tableStorageFake.ts';

/*
 * Budgets and rate limits through the Azure on-message handler, two function instances at
 * once: each with its own mesh, its own @azure/data-tables client, its claims and usage counters
 * in the fake's table (ETag-checked writes), so what they share is only what two function
 * instances share: the table. Batches are shaped like the settlement extension's; waits are
 * recorded, not slept.
 */

const REPO = join(import.meta.dirname, '..', '..', '..');
const MESH_YAML = `
models:
  - { id: sim-azure-westeurope, provider: simulated, cloud: azure, region: westeurope, limits: { rpm: 1 } }
  - { id: sim-azure-westeurope-2, provider: simulated, cloud: azure, region: westeurope, limits: { rpm: 1 } }
  - { id: sim-azure-eastus, provider: simulated, cloud: azure, region: eastus }
residency: { pii: same-region }
sources: { acme-support: { cloud: azure, region: westeurope } }
destinations:
  support-topic: { kind: servicebus, namespace: acme-support, entity: tickets-triaged }
`;
const ANSWER = { category: 'billing', priority: 'p2', sentiment: 'negative', summary: 'Charged twice for February' };

let dir: string;
let tables: TableStorageFake;
let clock: FakeClock;
let counters: UsageCounters;
let provider: ScriptedProvider;
let sent: Envelope[];
let meshes: AzureMesh[];
let ticket: { body: unknown; applicationProperties: Record<string, string> };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-azure-budgets-'));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  const route = await readFile(join(REPO, 'events', 'routes', 'ticket-triage.yaml'), 'utf8');
  await writeFile(
    join(dir, 'events', 'routes', 'ticket-triage.yaml'),
    route
      .replace('  maxTokens: 300', '  maxTokens: 300\n  attemptsPerEndpoint: 1\n  budget: { tokens: 50000, per: day }')
      .replace('models: [sim-azure-westeurope, sim-azure-eastus]', 'models: [sim-azure-westeurope, sim-azure-westeurope-2, sim-azure-eastus]'),
  );
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  ticket = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as typeof ticket;
  tables = await startTableStorageFake();
  await TableClient.fromConnectionString(tables.connectionString, 'meshidempotency', { allowInsecureConnection: true }).createTable();
  // Near the real time (claims expire by it), at the start of a minute.
  clock = new FakeClock(new Date(Math.floor(Date.now() / 60_000) * 60_000 + 1_000).toISOString());
  // What the test itself reads and adds: a third client on the same table.
  counters = tableStore().counters!;
  provider = new ScriptedProvider({ 'sim-azure-westeurope': [{ output: ANSWER }], 'sim-azure-westeurope-2': [{ output: ANSWER }], 'sim-azure-eastus': [{ output: ANSWER }] });
  sent = [];
  meshes = [];
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(meshes.map((m) => m.close()));
  await tables.close();
  await rm(dir, { recursive: true, force: true });
});

function tableStore() {
  return createTableStore({ client: TableClient.fromConnectionString(tables.connectionString, 'meshidempotency', { allowInsecureConnection: true }), clock });
}

/** One function instance: its own mesh and Table client; claims and counters in the fake's table. */
async function instance(waits: number[]) {
  const recorder: Publisher = {
    async publish(_destination, events) {
      sent.push(...events);
      return events.map((e) => ({ id: e.event.id, ok: true as const }));
    },
  };
  const mesh = await createAzureMesh({
    configFile: join(dir, 'mesh.yaml'),
    routesDir: join(dir, 'events', 'routes'),
    homeNamespace: 'acme-support',
    store: tableStore(),
    providers: { get: () => provider },
    publishers: { servicebus: recorder },
    clock,
  });
  meshes.push(mesh);
  return createOnMessageHandler({
    mesh: async () => mesh,
    namespace: 'acme-support',
    entity: 'tickets/Subscriptions/mesh',
    maxDeliveryCount: 3,
    lockDurationMs: 30_000,
    maxRetryWaitMs: 600_000,
    sleep: async (ms) => void waits.push(ms),
    random: () => 0,
  });
}

const total = (waits: number[]) => waits.reduce((a, b) => a + b, 0);

type Settled = { verb: string; messageId: unknown; reason?: string; description?: string };

function invocation(ids: string[], deliveryCount: number) {
  const settled: Settled[] = [];
  const context = new InvocationContext({ functionName: 'on-message', logHandler: () => {} });
  const actions: Required<SettlementActions> = {
    complete: async (m) => void settled.push({ verb: 'complete', messageId: m.messageId }),
    abandon: async (m) => void settled.push({ verb: 'abandon', messageId: m.messageId }),
    deadletter: async (m, _props, reason, description) =>
      void settled.push({ verb: 'deadletter', messageId: m.messageId, ...(reason ? { reason: (reason as unknown as { value: string }).value ?? reason } : {}), ...(description ? { description: (description as unknown as { value: string }).value ?? description } : {}) }),
    renewMessageLock: async () => {},
  };
  const messages: TriggerMessage[] = ids.map((id, i) => ({
    messageId: id,
    contentType: 'application/json',
    deliveryCount,
    lockToken: `00000000-0000-0000-0000-00000000000${i}`,
    applicationProperties: { ...ticket.applicationProperties, 'cloudEvents:id': id },
    body: ticket.body,
  }));
  return { context, batch: { messages, actions }, settled };
}

describe('budgets and rate limits through the Azure on-message handler', () => {
  it('two instances sharing the counters spill over to the second allowed endpoint and never past either rpm; the message left over is held until the minute resets, then abandoned', async () => {
    const waits: number[] = [];
    const [a, b] = [await instance(waits), await instance(waits)];
    const first = invocation(['TCK-1', 'TCK-2'], 1);
    const second = invocation(['TCK-3'], 1);

    await Promise.all([a(first.batch, first.context), b(second.batch, second.context)]);

    expect(provider.callsTo('sim-azure-westeurope')).toBe(1);
    expect(provider.callsTo('sim-azure-westeurope-2')).toBe(1);
    expect(provider.callsTo('sim-azure-eastus')).toBe(0);
    expect(sent).toHaveLength(2);
    const settled = [...first.settled, ...second.settled].filter((s) => s.verb !== 'renew');
    expect(settled.filter((s) => s.verb === 'complete')).toHaveLength(2);
    expect(settled.filter((s) => s.verb === 'abandon')).toHaveLength(1);
    // Held (in lock slices) for the rest of the minute, 59 s from :01: the reset time the failure carries.
    expect(total(waits)).toBe(59_000);
  });

  it('never drops an event over the route budget: held until retrying can help, dead-lettered as BudgetExceeded on the last delivery, with no model call', async () => {
    const waits: number[] = [];
    const handler = await instance(waits);
    await counters.adjust(usageKeys.budgetTokens('ticket-triage'), counterWindow('day', clock.now().getTime()), 50_000);
    const early = invocation(['TCK-over'], 1);
    const last = invocation(['TCK-over'], 3);

    await handler(early.batch, early.context);
    await handler(last.batch, last.context);

    expect(early.settled).toEqual([{ verb: 'abandon', messageId: 'TCK-over' }]);
    expect(total(waits)).toBe(600_000); // the day resets later than the longest hold: capped
    expect(last.settled).toEqual([
      { verb: 'deadletter', messageId: 'TCK-over', reason: 'BudgetExceeded', description: expect.stringMatching(/^\[ticket-triage\] route ticket-triage is over its budget: 50000 tokens used of 50000 tokens per day.*replay the event then/) },
    ]);
    expect(provider.calls).toHaveLength(0);
    expect(sent).toHaveLength(0);
  });
});
