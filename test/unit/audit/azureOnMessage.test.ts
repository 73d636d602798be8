import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationContext } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOnMessageHandler, type SettlementActions, type TriggerMessage } from '../../../functions/azure/on-message.ts';
import { jsonLogger, ModelThrottledError } from '../../../shared/core/index.ts';
import { createAzureMesh, type AzureMesh } from '../../../shared/runtime/createAzureMesh.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';

/*
 * The Azure edge writes its audit to the function's log: the mesh as createAzureMesh composes
 * it for the deployed handler (audit lines through its logger), driven by the on-message
 * handler with a batch shaped like the settlement extension's.
 */

const REPO = join(import.meta.dirname, '..', '..', '..');
const MESH_YAML = `
models:
  - { id: sim-azure-westeurope, provider: simulated, cloud: azure, region: westeurope }
  - { id: sim-azure-eastus, provider: simulated, cloud: azure, region: eastus }
residency: { pii: same-region }
sources: { acme-support: { cloud: azure, region: westeurope } }
destinations:
  support-topic: { kind: servicebus, namespace: acme-support, entity: tickets-triaged }
`;
const ANSWER = { category: 'billing', priority: 'p2', sentiment: 'negative', summary: 'Charged twice for February' };

let dir: string;
let mesh: AzureMesh | undefined;
let lines: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-azure-audit-'));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'routes', 'ticket-triage.yaml'), join(dir, 'events', 'routes', 'ticket-triage.yaml'));
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  lines = [];
});
afterEach(async () => {
  await mesh?.close();
  mesh = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function deliverTicket(steps: Step[]): Promise<string[]> {
  const provider = new ScriptedProvider({ 'sim-azure-westeurope': steps });
  mesh = await createAzureMesh({
    configFile: join(dir, 'mesh.yaml'),
    routesDir: join(dir, 'events', 'routes'),
    homeNamespace: 'acme-support',
    store: createMemoryStore(),
    providers: { get: () => provider },
    publishers: { servicebus: { publish: async (_d, events) => events.map((e) => ({ id: e.event.id, ok: true as const })) } },
    // as on-message.ts composes it: JSON lines, info and up
    logger: jsonLogger({ base: { function: 'on-message' }, write: (line) => lines.push(line) }),
  });
  const ticket = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as {
    body: unknown;
    applicationProperties: Record<string, string>;
  };
  const settled: string[] = [];
  const actions: Required<SettlementActions> = {
    complete: async () => void settled.push('complete'),
    abandon: async () => void settled.push('abandon'),
    deadletter: async () => void settled.push('deadletter'),
    renewMessageLock: async () => void settled.push('renew'),
  };
  const message: TriggerMessage = { messageId: 'TCK-88412', contentType: 'application/json', deliveryCount: 1, lockToken: '00000000-0000-0000-0000-000000000001', applicationProperties: ticket.applicationProperties, body: ticket.body };
  const handler = createOnMessageHandler({
    mesh: async () => mesh!,
    namespace: 'acme-support',
    entity: 'tickets/Subscriptions/mesh',
    maxDeliveryCount: 3,
    lockDurationMs: 30_000,
    maxRetryWaitMs: 60_000,
    sleep: async () => {},
    random: () => 0,
  });
  await handler({ messages: [message], actions }, new InvocationContext({ functionName: 'on-message' }));
  return settled;
}

const auditLines = () => lines.filter((l) => l.includes('"audit":"nearmesh.model-invocation.v1"'));

describe('the Azure edge’s audit', () => {
  it('writes one structured line per model invocation attempt, marked, naming where the data is and why, with no ticket content', async () => {
    // Prepare + Act: the West Europe endpoint throttles once, then answers
    const settled = await deliverTicket([{ error: new ModelThrottledError('busy', { retryAfterMs: 0 }) }, { output: ANSWER }]);
    // Assess
    expect(settled).toEqual(['complete']);
    const records = auditLines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toEqual([
      expect.objectContaining({ level: 'info', message: 'model invocation', function: 'on-message', routeId: 'ticket-triage', eventId: 'TCK-88412', endpoint: 'sim-azure-westeurope', attempt: 1, outcome: 'error', errorCode: 'ModelThrottled' }),
      expect.objectContaining({ endpoint: 'sim-azure-westeurope', region: 'westeurope', attempt: 2, outcome: 'ok', tokens: { input: 100, output: 20 } }),
    ]);
    // no location on the route, no datalocation on the ticket: the origin decides (the namespace's region, from mesh.yaml sources)
    expect(records[1]).toMatchObject({ dataLocation: 'azure:westeurope', dataLocationSource: 'origin', classification: 'pii' });
    for (const line of auditLines()) for (const secret of ['Marie', 'marie.dubois', 'Charged twice', '49.00', 'C-55120', 'billing']) expect(line).not.toContain(secret);
  });
});
