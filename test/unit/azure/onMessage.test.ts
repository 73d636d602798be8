import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationContext } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resultsOutput, setResults } from '../../../functions/azure/app.ts';
import { asMessageBatch, createOnMessageHandler, type SettlementActions, type TriggerMessage } from '../../../functions/azure/on-message.ts';
import { ModelRequestError, ModelThrottledError, type Destination, type Envelope, type Publisher } from '../../../shared/core/index.ts';
import { createAzureMesh, type AzureMesh } from '../../../shared/runtime/createAzureMesh.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';

/*
 * The handler's settlement decisions, called directly with an InvocationContext and a batch
 * shaped like the settlement extension's (received messages + actions), with a scripted model
 * and publishers that record what they get.
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

type Settled = { verb: 'complete' | 'abandon' | 'deadletter'; messageId: unknown; reason?: string; description?: string };

/** A batch as the settlement extension hands it over: received messages and actions that record what they settle. */
function invocation(ids: string[], deliveryCount: number, settled: Settled[] = []) {
  const context = new InvocationContext({ functionName: 'on-message' });
  const actions: SettlementActions = {
    complete: async (m) => void settled.push({ verb: 'complete', messageId: m.messageId }),
    abandon: async (m) => void settled.push({ verb: 'abandon', messageId: m.messageId }),
    deadletter: async (m, _props, reason, description) => void settled.push({ verb: 'deadletter', messageId: m.messageId, ...(reason ? { reason } : {}), ...(description ? { description } : {}) }),
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

/** The handler with the registration module's output binding: tests read results from `context.extraOutputs`. */
function handler() {
  return createOnMessageHandler({
    mesh: async () => mesh,
    namespace: 'acme-support',
    entity: 'tickets/Subscriptions/mesh',
    maxDeliveryCount: 3,
    setBindingOutput: setResults,
  });
}

const bound = (context: InvocationContext) => context.extraOutputs.get(resultsOutput) as Record<string, unknown>[];

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
  it('puts results for its own results entity in the output binding as structured CloudEvents, and completes the message', async () => {
    await meshWith([{ output: ANSWER }]);
    const onMessage = handler();
    const { context, batch, settled } = invocation(['TCK-1'], 1);

    await onMessage(batch, context);

    expect(bound(context)).toMatchObject([{ specversion: '1.0', type: 'TicketTriaged', subject: 'TCK-1', causationid: 'TCK-1', meshroute: 'ticket-triage', data: { result: ANSWER } }]);
    expect(sent).toEqual([]);
    expect(settled).toEqual([{ verb: 'complete', messageId: 'TCK-1' }]);
  });

  it('abandons only the message with a retryable failure; the rest of the batch completes and its results still go out', async () => {
    await meshWith([{ output: ANSWER }, { error: new ModelThrottledError('slow down', { retryAfterMs: 10 }) }]);
    const onMessage = handler();
    const { context, batch, settled } = invocation(['TCK-ok', 'TCK-throttled'], 1);

    await onMessage(batch, context);

    expect(settled).toEqual(expect.arrayContaining([{ verb: 'complete', messageId: 'TCK-ok' }, { verb: 'abandon', messageId: 'TCK-throttled' }]));
    expect(settled).toHaveLength(2);
    expect(bound(context).map((o) => o.subject)).toEqual(['TCK-ok']);
  });

  it('dead-letters a permanent failure at once with the mesh error code and [route] message', async () => {
    await meshWith([{ error: new ModelRequestError('content filter rejected the prompt') }]);
    const onMessage = handler();
    const { context, batch, settled } = invocation(['TCK-2'], 1);

    await onMessage(batch, context);

    expect(settled).toEqual([{ verb: 'deadletter', messageId: 'TCK-2', reason: 'ModelRequestRejected', description: expect.stringMatching(/^\[ticket-triage\] .*content filter/) }]);
  });

  it('dead-letters a retryable failure on the last allowed delivery instead of abandoning it again', async () => {
    await meshWith([{ error: new ModelThrottledError('slow down', { retryAfterMs: 10 }) }]);
    const onMessage = handler();
    const { context, batch, settled } = invocation(['TCK-3'], 3);

    await onMessage(batch, context);

    expect(settled).toEqual([{ verb: 'deadletter', messageId: 'TCK-3', reason: expect.stringMatching(/^Model/), description: expect.any(String) }]);
  });

  it('dead-letters a message it cannot decode as InvalidEvent, naming the field', async () => {
    await meshWith([]);
    const onMessage = handler();
    const { context, batch, settled } = invocation(['BAD-1'], 1);
    batch.messages[0]!.body = 'not a ticket';

    await onMessage(batch, context);

    expect(settled).toEqual([{ verb: 'deadletter', messageId: 'BAD-1', reason: 'InvalidEvent', description: expect.stringMatching(/body/) }]);
  });

  it('does not throw when settling fails (lock lost): the results already made still go to the binding', async () => {
    await meshWith([{ output: ANSWER }]);
    const onMessage = handler();
    const { context, batch } = invocation(['TCK-4'], 1);
    batch.actions.complete = async () => {
      throw new Error('The lock supplied is invalid');
    };

    await onMessage(batch, context);

    expect(bound(context)).toHaveLength(1);
    expect(console.error).toHaveBeenCalled();
  });

  it('refuses plain trigger input with what to fix (sdkBinding and the extension import)', () => {
    expect(() => asMessageBatch([{ hello: 1 }])).toThrow(/sdkBinding: true.*@azure\/functions-extensions-servicebus/);
  });
});
