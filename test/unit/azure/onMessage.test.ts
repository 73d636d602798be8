import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationContext } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asMessageBatch, createOnMessageHandler, onMessageFromEnv, type OnMessageDeps, type SettlementActions, type TriggerMessage } from '../../../functions/azure/on-message.ts';
import { ModelRequestError, ModelThrottledError, ModelTimeoutError, type Destination, type Envelope, type EventOutcome, type Publisher } from '../../../shared/core/index.ts';
import { createAzureMesh, type AzureMesh } from '../../../shared/runtime/createAzureMesh.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';

/*
 * The handler's settlement decisions, called directly with an InvocationContext and a batch
 * shaped like the settlement extension's (received messages + actions), with a scripted model,
 * publishers that record what they get, and a recorded wait instead of real sleeping.
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
/** Everything that happened, in order: sends, lock renewals, waits, settlements. */
let timeline: string[];
let sent: { destination: Destination; events: Envelope[] }[];
let mesh: AzureMesh | undefined;
let ticket: { body: unknown; applicationProperties: Record<string, string> };
let logs: { level: string; text: string }[];

async function meshWith(steps: Step[], publish?: Publisher['publish']) {
  const provider = new ScriptedProvider({ 'sim-azure-westeurope': steps });
  const recorder: Publisher = {
    async publish(destination, events) {
      sent.push({ destination, events });
      timeline.push(`send ${events.map((e) => e.event.subject).join(',')}`);
      return publish ? publish(destination, events) : events.map((e) => ({ id: e.event.id, ok: true as const }));
    },
  };
  mesh = await createAzureMesh({
    configFile: join(dir, 'mesh.yaml'),
    routesDir: join(dir, 'events', 'routes'),
    homeNamespace: 'acme-support',
    store: createMemoryStore(),
    providers: { get: () => provider },
    publishers: { servicebus: recorder },
  });
  return provider;
}

type Settled = { verb: 'complete' | 'abandon' | 'deadletter' | 'renew'; messageId: unknown; reason?: string; description?: string };

/** A batch as the settlement extension hands it over: received messages and actions that record what they settle. */
function invocation(ids: string[], deliveryCount: number, settled: Settled[] = []) {
  const context = new InvocationContext({ functionName: 'on-message', logHandler: (level, ...args) => logs.push({ level, text: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ') }) });
  const record = (s: Settled) => {
    settled.push(s);
    timeline.push(`${s.verb} ${String(s.messageId)}`);
  };
  const actions: Required<SettlementActions> = {
    complete: async (m) => record({ verb: 'complete', messageId: m.messageId }),
    abandon: async (m) => record({ verb: 'abandon', messageId: m.messageId }),
    deadletter: async (m, _props, reason, description) => record({ verb: 'deadletter', messageId: m.messageId, ...(reason ? { reason } : {}), ...(description ? { description } : {}) }),
    renewMessageLock: async (m) => record({ verb: 'renew', messageId: m.messageId }),
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

/** The handler over the test mesh; waits are recorded in the timeline, not slept. */
function handler(overrides: Partial<OnMessageDeps> = {}) {
  return createOnMessageHandler({
    mesh: async () => mesh!,
    namespace: 'acme-support',
    entity: 'tickets/Subscriptions/mesh',
    maxDeliveryCount: 3,
    lockDurationMs: 30_000,
    maxRetryWaitMs: 60_000,
    sleep: async (ms) => void timeline.push(`wait ${ms}`),
    random: () => 0,
    ...overrides,
  });
}

const waits = () => timeline.filter((t) => t.startsWith('wait ')).map((t) => Number(t.slice(5)));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-azure-unit-'));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  // One call per endpoint: the model's Retry-After reaches the handler instead of being waited out inside the route.
  const route = await readFile(join(REPO, 'events', 'routes', 'ticket-triage.yaml'), 'utf8');
  await writeFile(join(dir, 'events', 'routes', 'ticket-triage.yaml'), route.replace('  maxTokens: 300', '  maxTokens: 300\n  attemptsPerEndpoint: 1'));
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  ticket = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as typeof ticket;
  sent = [];
  timeline = [];
  logs = [];
  mesh = undefined;
});
afterEach(async () => {
  vi.restoreAllMocks();
  await mesh?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('on-message handler', () => {
  it('sends the result through the publisher and only then completes the message', async () => {
    await meshWith([{ output: ANSWER }]);
    const { context, batch, settled } = invocation(['TCK-1'], 1);

    await handler()(batch, context);

    expect(sent.map((s) => s.destination.name)).toEqual(['support-topic']);
    expect(sent[0]!.events[0]!.event).toMatchObject({ type: 'TicketTriaged', subject: 'TCK-1', data: { result: ANSWER } });
    expect(timeline).toEqual(['send TCK-1', 'complete TCK-1']);
    expect(settled).toEqual([{ verb: 'complete', messageId: 'TCK-1' }]);
  });

  it('does not complete a message whose result could not be sent: it is held and abandoned, and the send is retried on the next delivery', async () => {
    let fail = true;
    await meshWith([{ output: ANSWER }], async (_d, events) =>
      events.map((e) => (fail ? { id: e.event.id, ok: false as const, error: new ModelTimeoutError('send timed out') } : { id: e.event.id, ok: true as const })),
    );
    const first = invocation(['TCK-9'], 1);

    await handler()(first.batch, first.context);
    fail = false;
    const second = invocation(['TCK-9'], 2);
    await handler()(second.batch, second.context);

    expect(first.settled.map((s) => s.verb)).toEqual(['renew', 'abandon']);
    expect(second.settled.map((s) => s.verb)).toEqual(['complete']);
    expect(sent).toHaveLength(2);
  });

  it('abandons only the message with a retryable failure; the rest of the batch completes without waiting for it', async () => {
    await meshWith([{ output: ANSWER }, { error: new ModelThrottledError('slow down', { retryAfterMs: 10 }) }]);
    const { context, batch, settled } = invocation(['TCK-ok', 'TCK-throttled'], 1);
    // The throttled message's hold ends only once the other message was completed: a handler
    // that made the batch wait for the hold would never finish.
    const sleep = async (ms: number) => {
      timeline.push(`wait ${ms}`);
      while (!timeline.includes('complete TCK-ok')) await new Promise((resolve) => setTimeout(resolve, 5));
    };

    await handler({ sleep })(batch, context);

    expect(settled).toEqual(expect.arrayContaining([{ verb: 'complete', messageId: 'TCK-ok' }, { verb: 'abandon', messageId: 'TCK-throttled' }]));
    expect(timeline.indexOf('complete TCK-ok')).toBeLessThan(timeline.indexOf('abandon TCK-throttled'));
    expect(sent.flatMap((s) => s.events.map((e) => e.event.subject))).toEqual(['TCK-ok']);
  });

  it('holds a throttled message for the Retry-After (renewing its lock first) before abandoning it', async () => {
    await meshWith([{ error: new ModelThrottledError('slow down', { retryAfterMs: 2_000 }) }]);
    const { context, batch } = invocation(['TCK-slow'], 1);

    await handler()(batch, context);

    expect(timeline).toEqual(['renew TCK-slow', 'wait 2000', 'abandon TCK-slow']);
    expect(logs.find((l) => l.level === 'warning')?.text).toMatch(/abandoned.*"code":"ModelThrottled".*"heldMs":2000.*"spacing":"retry-after"/);
  });

  it('renews the lock in slices shorter than the lock duration when the hold is longer than one lock', async () => {
    await meshWith([{ error: new ModelThrottledError('slow down', { retryAfterMs: 25_000 }) }]);
    const { context, batch } = invocation(['TCK-long'], 1);

    await handler({ lockDurationMs: 10_000 })(batch, context);

    // 10 s lock, 2 s margin: 8 s slices, each after a renewal.
    expect(timeline).toEqual(['renew TCK-long', 'wait 8000', 'renew TCK-long', 'wait 8000', 'renew TCK-long', 'wait 8000', 'renew TCK-long', 'wait 1000', 'abandon TCK-long']);
  });

  it('without a hint, backs off by delivery count (capped) instead of abandoning at once', async () => {
    await meshWith([{ error: new ModelTimeoutError('no answer in time') }]);
    const deliveries = [1, 2, 3];
    for (const n of deliveries) {
      const { context, batch } = invocation([`TCK-t${n}`], n);
      await handler({ maxDeliveryCount: 10, maxRetryWaitMs: 5_000, random: () => 0.5 })(batch, context);
    }

    // Base 2 s doubling, equal jitter at 0.5: 3/4 of the step; the third step (8 s) is capped at 5 s.
    expect(waits()).toEqual([1_500, 3_000, 3_750]);
  });

  it('dead-letters a permanent failure at once with the mesh error code and [route] message', async () => {
    await meshWith([{ error: new ModelRequestError('content filter rejected the prompt') }]);
    const { context, batch, settled } = invocation(['TCK-2'], 1);

    await handler()(batch, context);

    expect(settled).toEqual([{ verb: 'deadletter', messageId: 'TCK-2', reason: 'ModelRequestRejected', description: expect.stringMatching(/^\[ticket-triage\] .*content filter/) }]);
    expect(waits()).toEqual([]);
  });

  it('dead-letters a retryable failure on the last allowed delivery instead of abandoning it again', async () => {
    await meshWith([{ error: new ModelThrottledError('slow down', { retryAfterMs: 10 }) }]);
    const { context, batch, settled } = invocation(['TCK-3'], 3);

    await handler()(batch, context);

    expect(settled).toEqual([{ verb: 'deadletter', messageId: 'TCK-3', reason: expect.stringMatching(/^Model/), description: expect.any(String) }]);
  });

  it('dead-letters a message it cannot decode as InvalidEvent, naming the field', async () => {
    await meshWith([]);
    const { context, batch, settled } = invocation(['BAD-1'], 1);
    batch.messages[0]!.body = 'not a ticket';

    await handler()(batch, context);

    expect(settled).toEqual([{ verb: 'deadletter', messageId: 'BAD-1', reason: 'InvalidEvent', description: expect.stringMatching(/body/) }]);
  });

  it('does not throw when settling fails (lock lost): the result was already sent, and the reason is logged', async () => {
    await meshWith([{ output: ANSWER }]);
    const { context, batch } = invocation(['TCK-4'], 1);
    batch.actions.complete = async () => {
      throw new Error('The lock supplied is invalid');
    };

    await handler()(batch, context);

    expect(sent).toHaveLength(1);
    expect(logs.find((l) => l.level === 'error')?.text).toMatch(/could not complete the message.*lock supplied is invalid/);
  });

  it('refuses plain trigger input with what to fix (sdkBinding and the extension import)', () => {
    expect(() => asMessageBatch([{ hello: 1 }])).toThrow(/sdkBinding: true.*@azure\/functions-extensions-servicebus/);
  });
});

describe('on-message when the function itself is in trouble', () => {
  it('abandons every message (spaced, not dead-lettered) when the mesh cannot be built, and logs what to fix', async () => {
    const { context, batch, settled } = invocation(['TCK-a', 'TCK-b'], 1);

    await handler({ mesh: () => Promise.reject(new Error('no idempotency table: set MESH_IDEMPOTENCY_TABLE and AzureWebJobsStorage')) })(batch, context);

    expect(settled.filter((s) => s.verb !== 'renew')).toEqual(expect.arrayContaining([{ verb: 'abandon', messageId: 'TCK-a' }, { verb: 'abandon', messageId: 'TCK-b' }]));
    expect(waits()).toEqual([1_000, 1_000]);
    expect(logs.filter((l) => l.level === 'warning').map((l) => l.text)).toEqual([
      expect.stringMatching(/"code":"EdgeUnavailable".*could not start its mesh.*set MESH_IDEMPOTENCY_TABLE/),
      expect.stringMatching(/"code":"EdgeUnavailable"/),
    ]);
  });

  it('abandons a message whose process threw (a store failure outside any route) instead of dead-lettering it as Internal', async () => {
    const broken = { config: { sources: {} }, pipeline: { process: async () => Promise.reject(Object.assign(new Error('TableNotFound: The table specified does not exist.'), { statusCode: 404 })) } };
    const { context, batch, settled } = invocation(['TCK-s'], 1);

    await handler({ mesh: async () => broken as unknown as AzureMesh })(batch, context);

    expect(settled.map((s) => s.verb)).toEqual(['renew', 'abandon']);
    expect(logs.find((l) => l.level === 'warning')?.text).toMatch(/EdgeUnavailable.*TableNotFound/);
  });

  it('on the last delivery, dead-letters an infrastructure failure under its own code, saying the event was not processed', async () => {
    const { context, batch, settled } = invocation(['TCK-z'], 3);

    await handler({ mesh: () => Promise.reject(new Error('403 AuthorizationPermissionMismatch on table meshidempotency')) })(batch, context);

    expect(settled).toEqual([{ verb: 'deadletter', messageId: 'TCK-z', reason: 'EdgeUnavailable', description: expect.stringMatching(/^not processed: the function or its store failed, not the event; replay it once fixed: .*403/) }]);
  });

  it('gives an unclassified (Internal) route failure one more delivery before dead-lettering it', async () => {
    const outcome = (error: Error): EventOutcome => ({ eventId: 'TCK-i', type: 'TicketOpened', source: 's', routes: [{ routeId: 'ticket-triage', status: 'failed', latencyMs: 1, attempts: [], error: error as never }] });
    const { InternalError } = await import('../../../shared/core/index.ts');
    const internal = { config: { sources: {} }, pipeline: { process: async () => outcome(new InternalError('socket hang up', { context: { routeId: 'ticket-triage' } })) } };
    const first = invocation(['TCK-i'], 1);
    const second = invocation(['TCK-i'], 2);

    await handler({ mesh: async () => internal as unknown as AzureMesh })(first.batch, first.context);
    await handler({ mesh: async () => internal as unknown as AzureMesh })(second.batch, second.context);

    expect(first.settled.map((s) => s.verb)).toEqual(['renew', 'abandon']);
    expect(second.settled).toEqual([expect.objectContaining({ verb: 'deadletter', reason: 'Internal' })]);
  });

  it('settles a message as soon as its own process returned (its results already sent), not after a slow sibling; never before', async () => {
    let releaseSlow!: () => void;
    const slowDone = new Promise<void>((resolve) => (releaseSlow = resolve));
    const done = (id: string): EventOutcome => ({ eventId: id, type: 'TicketOpened', source: 's', routes: [] });
    const staged = {
      config: { sources: {} },
      pipeline: {
        process: async (e: Envelope) => {
          if (e.event.id === 'TCK-slow') await slowDone;
          timeline.push(`processed ${e.event.id}`);
          return done(e.event.id);
        },
      },
    };
    const { context, batch } = invocation(['TCK-fast', 'TCK-slow'], 1);

    const running = handler({ mesh: async () => staged as unknown as AzureMesh })(batch, context);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const beforeRelease = [...timeline];
    releaseSlow();
    await running;

    // The fast one is completed while the slow one still runs; the slow one only after its own process.
    expect(beforeRelease).toEqual(['processed TCK-fast', 'complete TCK-fast']);
    expect(timeline).toEqual(['processed TCK-fast', 'complete TCK-fast', 'processed TCK-slow', 'complete TCK-slow']);
  });

  it('renews the lock of a message while its process runs longer than a lock slice', async () => {
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const staged = {
      config: { sources: {} },
      pipeline: {
        process: async (e: Envelope) => {
          await slow;
          return { eventId: e.event.id, type: 'TicketOpened', source: 's', routes: [] } satisfies EventOutcome;
        },
      },
    };
    const { context, batch } = invocation(['TCK-long'], 1);

    // A 100 ms lock: renewed every 80 ms while the message is processed.
    const running = handler({ mesh: async () => staged as unknown as AzureMesh, lockDurationMs: 100 })(batch, context);
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    await running;
    const renewalsWhileRunning = timeline.filter((t) => t === 'renew TCK-long').length;
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(renewalsWhileRunning).toBeGreaterThanOrEqual(2);
    // Renewal stops once the message is settled.
    expect(timeline.filter((t) => t === 'renew TCK-long').length).toBe(renewalsWhileRunning);
    expect(timeline.at(-1)).toBe('complete TCK-long');
  });

  it('holds and abandons every message, never dead-lettering, while the app settings cannot be read', async () => {
    const onMessage = onMessageFromEnv({ MESH_INPUT_TOPIC: 'tickets' });
    const { context, batch, settled } = invocation(['TCK-x'], 50);
    batch.actions.renewMessageLock = async () => {};
    vi.useFakeTimers();
    try {
      const run = onMessage(batch, context);
      await vi.runAllTimersAsync();
      await run;
    } finally {
      vi.useRealTimers();
    }

    expect(settled.map((s) => s.verb)).toEqual(['abandon']);
    expect(logs.find((l) => l.level === 'warning')?.text).toMatch(/EdgeUnavailable.*app settings: the trigger namespace is unknown/);
  });
});
