import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeServiceBusMessage } from '../../../shared/buses/index.ts';
import { originDestination, type Destination, type Publisher } from '../../../shared/core/index.ts';
import { createAzureMesh, type AzureMesh } from '../../../shared/runtime/createAzureMesh.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { ScriptedProvider } from '../../fakes/scriptedProvider.ts';

/*
 * Where a result goes when its route names no destination: back to the topic the event came
 * from (a subscription cannot be sent to), or MESH_RESULTS_ENTITY when it is set.
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
const ANSWER = { category: 'billing', priority: 'p2', sentiment: 'negative', summary: 'Charged twice' };

let dir: string;
let mesh: AzureMesh | undefined;
let sentTo: Destination[];

async function meshFor(routeTo: string | undefined, resultsEntity?: string) {
  const route = await readFile(join(REPO, 'events', 'routes', 'ticket-triage.yaml'), 'utf8');
  await writeFile(join(dir, 'events', 'routes', 'ticket-triage.yaml'), route.replace('  to: [support-topic]', routeTo === undefined ? '' : `  to: [${routeTo}]`));
  const recorder: Publisher = {
    async publish(destination, events) {
      sentTo.push(destination);
      return events.map((e) => ({ id: e.event.id, ok: true as const }));
    },
  };
  mesh = await createAzureMesh({
    configFile: join(dir, 'mesh.yaml'),
    routesDir: join(dir, 'events', 'routes'),
    homeNamespace: 'acme-support',
    ...(resultsEntity ? { resultsEntity } : {}),
    store: createMemoryStore(),
    providers: { get: () => new ScriptedProvider({ 'sim-azure-westeurope': [{ output: ANSWER }] }) },
    publishers: { servicebus: recorder },
  });
  return mesh;
}

async function ticketFromSubscription() {
  const sample = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as Record<string, unknown>;
  return decodeServiceBusMessage({ ...sample, entity: 'tickets/Subscriptions/mesh' }, { 'acme-support': { cloud: 'azure', region: 'westeurope' } });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-azure-dest-'));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  sentTo = [];
  mesh = undefined;
});
afterEach(async () => {
  await mesh?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the default destination of a Service Bus delivery', () => {
  it('decodes a subscription delivery with the topic as origin bus, so the default destination is the topic', async () => {
    const envelope = await ticketFromSubscription();

    expect(envelope.origin).toMatchObject({ transport: 'servicebus', namespace: 'acme-support', bus: 'tickets' });
    expect(originDestination(envelope)).toMatchObject({ kind: 'servicebus', namespace: 'acme-support', entity: 'tickets' });
  });

  it('keeps a queue as it is', () => {
    const envelope = decodeServiceBusMessage({ namespace: 'acme-support', entity: 'tickets-queue', messageId: 'm-1', subject: 'TicketOpened', body: { a: 1 } });

    expect(envelope.origin.bus).toBe('tickets-queue');
  });

  it('sends the result of a route without destination to the topic the event came from', async () => {
    const m = await meshFor(undefined);

    const outcome = await m.pipeline.process(await ticketFromSubscription());

    expect(outcome.routes.map((r) => r.status)).toEqual(['emitted']);
    expect(sentTo).toEqual([expect.objectContaining({ kind: 'servicebus', namespace: 'acme-support', entity: 'tickets' })]);
  });

  it('with MESH_RESULTS_ENTITY, sends such results to that entity of the home namespace; named destinations stay as they are', async () => {
    const m = await meshFor(undefined, 'mesh-results');
    await m.pipeline.process(await ticketFromSubscription());
    await m.close();
    const named = await meshFor('support-topic', 'mesh-results');
    await named.pipeline.process(await ticketFromSubscription());

    expect(sentTo).toEqual([
      expect.objectContaining({ kind: 'servicebus', namespace: 'acme-support', entity: 'mesh-results' }),
      expect.objectContaining({ name: 'support-topic', entity: 'tickets-triaged' }),
    ]);
  });
});
