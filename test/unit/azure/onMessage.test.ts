import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationContext } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createOnMessageHandler, type MessageSettlement } from '../../../functions/azure/on-message.ts';
import { ModelRequestError, ModelThrottledError, type Destination, type Envelope, type Publisher } from '../../../shared/core/index.ts';
import { createAzureMesh, type AzureMesh } from '../../../shared/runtime/createAzureMesh.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';

/*
 * The handler's settlement decisions, called as the host calls it (InvocationContext with the
 * trigger metadata arrays), with a scripted model and publishers that record what they get.
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
let sent: { destination: Destination; events: Envelope[] }[];
let mesh: AzureMesh;
let ticket: { body: unknown; applicationProperties: Record<string, string> };

async function meshWith(steps: Step[]) {
  const provider = new ScriptedProvider({ 'sim-azure-westeurope': steps });
  const recorder: Publisher = {
    async publish(destination, events) {
      sent.push({ destination, events });
      return events.map((e) => ({ id: e.event.id, ok: true as const }));
    },
  };
  mesh = await createAzureMesh({
    configFile: join(dir, 'mesh.yaml'),
    routesDir: join(dir, 'events', 'routes'),
    homeNamespace: 'acme-support',
    resultsEntity: 'tickets-triaged',
    store: createMemoryStore(),
    providers: { get: () => provider },
    publishers: { servicebus: recorder },
  });
  return provider;
}

function invocation(ids: string[], deliveryCount: number) {
  const context = new InvocationContext({
    functionName: 'on-message',
    triggerMetadata: {
      messageIdArray: ids,
      contentTypeArray: ids.map(() => 'application/json'),
      deliveryCountArray: ids.map(() => deliveryCount),
      applicationPropertiesArray: ids.map((id) => ({ ...ticket.applicationProperties, 'cloudEvents:id': id })),
    },
  });
  return { context, messages: ids.map(() => ticket.body) };
}

function handler(settlement?: MessageSettlement) {
  const outputs: unknown[][] = [];
  const onMessage = createOnMessageHandler({
    mesh: async () => mesh,
    namespace: 'acme-support',
    entity: 'tickets/Subscriptions/mesh',
    maxDeliveryCount: 3,
    setBindingOutput: (_ctx, messages) => outputs.push(messages),
    ...(settlement ? { settlement: () => settlement } : {}),
  });
  return { onMessage, outputs };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-azure-unit-'));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'routes', 'ticket-triage.yaml'), join(dir, 'events', 'routes', 'ticket-triage.yaml'));
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  ticket = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as typeof ticket;
  sent = [];
  vi.spyOn(console, 'error').mockImplementation(() => {});
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(async () => {
  vi.restoreAllMocks();
  await mesh?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('on-message handler', () => {
  it('puts results for its own results entity in the output binding, not through a sender', async () => {
    await meshWith([{ output: ANSWER }]);
    const { onMessage, outputs } = handler();
    const { context, messages } = invocation(['TCK-1'], 1);

    await onMessage(messages, context);

    expect(outputs).toHaveLength(1);
    expect(outputs[0]).toMatchObject([{ subject: 'TicketTriaged', body: { result: ANSWER }, applicationProperties: { 'cloudEvents:causationid': 'TCK-1' } }]);
    expect(sent).toEqual([]);
  });

  it('throws to get a retryable failure delivered again, and sends the batch\'s finished results through a sender first', async () => {
    await meshWith([{ output: ANSWER }, { error: new ModelThrottledError('slow down', { retryAfterMs: 10 }) }]);
    const { onMessage, outputs } = handler();
    const { context, messages } = invocation(['TCK-ok', 'TCK-throttled'], 1);

    const err = await onMessage(messages, context).catch((e: unknown) => e as Error);

    expect(err).toMatchObject({ name: 'RetryDeliveryError' });
    expect(err!.message).toMatch(/TCK-throttled: Model/);
    expect(outputs).toEqual([]);
    expect(sent.map((s) => [s.destination.entity, s.events.map((e) => e.event.subject)])).toEqual([['tickets-triaged', ['TCK-ok']]]);
  });

  it('dead-letters a permanent failure at once with the mesh error code and [route] message', async () => {
    await meshWith([{ error: new ModelRequestError('content filter rejected the prompt') }]);
    const deadLetter = vi.fn(async () => {});
    const { onMessage } = handler({ deadLetter });
    const { context, messages } = invocation(['TCK-2'], 1);

    await onMessage(messages, context);

    expect(deadLetter).toHaveBeenCalledWith(0, 'ModelRequestRejected', expect.stringMatching(/^\[ticket-triage\] .*content filter/));
  });

  it('dead-letters a retryable failure on the last allowed delivery instead of throwing again', async () => {
    await meshWith([{ error: new ModelThrottledError('slow down', { retryAfterMs: 10 }) }]);
    const deadLetter = vi.fn(async () => {});
    const { onMessage } = handler({ deadLetter });
    const { context, messages } = invocation(['TCK-3'], 3);

    await onMessage(messages, context);

    expect(deadLetter).toHaveBeenCalledWith(0, expect.stringMatching(/^Model/), expect.any(String));
  });
});
