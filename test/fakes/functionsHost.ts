import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import rhea from 'rhea';

/*
 * A stand-in for the Azure Functions host and Node.js worker around a Service Bus trigger,
 * so the registration module runs as deployed with no Azure:
 * - `@azure/functions-core` (the API the worker gives `@azure/functions`) is served to the real
 *   library: it records `registerFunction(metadata, handler)` and the programming model;
 * - an invocation goes through the library's own InvocationModel (getArguments →
 *   invokeFunction → getResponse), with the trigger input the host sends for `sdkBinding: true`:
 *   model binding data whose content is the 16-byte lock token, `x-opt-lock-token` and the
 *   AMQP-encoded message, which the real settlement extension decodes;
 * - the extension's settlement actions reach a gRPC `Settlement` service here (found, as in
 *   Azure, from the worker's `--host`/`--port` arguments), which settles on the host's own
 *   receive link: complete, abandon, dead-letter with reason, renew;
 * - output bindings are sent as the host sends them: each array element is one message whose
 *   body is the element (JSON text for an object), with no other property;
 * - `autoCompleteMessages` (trigger, else true as in host.json's default) completes the batch
 *   after success and abandons it after a throw.
 */

type Binding = { type: string; direction: 'in' | 'out'; name: string; properties?: Record<string, unknown>; [k: string]: unknown };
export interface RegisteredFunction {
  metadata: { name: string; bindings: Record<string, Binding> };
  handler: (...args: unknown[]) => unknown;
}
interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: (...args: unknown[]) => unknown): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<{ outputData?: { name: string; data: RpcTypedData }[] }>;
}
type RpcTypedData = { string?: string; json?: string; bytes?: Uint8Array };
interface ProgrammingModel {
  getInvocationModel(coreCtx: unknown): InvocationModel;
}

export interface Settlement {
  verb: 'complete' | 'abandon' | 'deadletter' | 'renew';
  messageId: unknown;
  reason?: string;
  description?: string;
}

export interface InvocationReport {
  /** The handler's exception, if it threw. */
  error?: Error;
  /** Settlements the function asked for through the extension's actions. */
  settled: Settlement[];
  /** Messages sent for output bindings: binding name → bodies. */
  outputs: Record<string, unknown[]>;
  logs: { level: string; message: string }[];
  messages: number;
}

const registered = new Map<string, RegisteredFunction>();
let programmingModel: ProgrammingModel | undefined;
let installed = false;

/**
 * Serve `@azure/functions-core` to `@azure/functions`, as the Node.js worker does. Call before
 * the app module is first imported.
 */
export function installFunctionsCore(): Map<string, RegisteredFunction> {
  if (installed) return registered;
  installed = true;
  const core = {
    registerFunction(metadata: RegisteredFunction['metadata'], handler: RegisteredFunction['handler']) {
      registered.set(metadata.name, { metadata, handler });
      return { dispose() {} };
    },
    setProgrammingModel(model: ProgrammingModel) {
      programmingModel = model;
    },
    getProgrammingModel: () => programmingModel,
    registerHook: () => ({ dispose() {} }),
    log: () => {},
  };
  const Module = createRequire(import.meta.url)('node:module') as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = Module._load;
  Module._load = function (this: unknown, request: string, ...rest: unknown[]) {
    return request === '@azure/functions-core' ? core : load.call(this, request, ...rest);
  };
  return registered;
}

export interface ServiceBusFunctionsHost {
  /**
   * Receive up to `maxMessages` from the trigger's entity and run the function once with them.
   * `registration` runs that registration of the function (a worker's own module instance)
   * rather than the one registered last under the name.
   */
  invoke(functionName: string, options?: { maxMessages?: number; waitMs?: number; registration?: RegisteredFunction }): Promise<InvocationReport>;
  /** The host is gone: settlements of the messages it holds are refused from now on (their locks expire). */
  kill(): void;
  close(): Promise<void>;
}

/**
 * The host for Service Bus triggered functions, on a real `ServiceBusClient` (pointed at the
 * AMQP test peer). `%NAME%` in binding settings resolves from `env`, as app settings do.
 */
export async function startServiceBusFunctionsHost(client: ServiceBusClient, env: Record<string, string | undefined> = process.env): Promise<ServiceBusFunctionsHost> {
  installFunctionsCore();
  const held: Held = new Map();
  let settled: Settlement[] = [];
  await settlementServer();
  const me: ActiveHost = { held, record: (s) => settled.push(s) };
  active.add(me);
  const receivers = new Map<string, ServiceBusReceiver>();
  const resolve = (value: unknown) => String(value).replace(/%([^%]+)%/g, (_, name: string) => env[name] ?? '');

  return {
    async invoke(functionName, { maxMessages = 32, waitMs = 1_000, registration } = {}) {
      const fn = registration ?? registered.get(functionName);
      if (!fn) throw new Error(`function ${functionName} is not registered (registered: ${[...registered.keys()].join(', ') || 'none'}); was installFunctionsCore() called before the app was imported?`);
      if (!programmingModel) throw new Error('the app set no programming model');
      const trigger = Object.values(fn.metadata.bindings).find((b) => b.type === 'serviceBusTrigger');
      if (!trigger) throw new Error(`${functionName} has no serviceBusTrigger binding`);
      const entity = trigger.topicName ? `${resolve(trigger.topicName)}/${resolve(trigger.subscriptionName)}` : resolve(trigger.queueName);
      let receiver = receivers.get(entity);
      if (!receiver) {
        const [topic, sub] = entity.split('/');
        receiver = sub ? client.createReceiver(topic!, sub) : client.createReceiver(topic!);
        receivers.set(entity, receiver);
      }
      const batch = await receiver.receiveMessages(trigger.cardinality === 'many' ? maxMessages : 1, { maxWaitTimeInMs: waitMs });
      for (const message of batch) held.set(message.lockToken!, { receiver, message });

      settled = [];
      const logs: InvocationReport['logs'] = [];
      const deferred = trigger.properties?.supportsDeferredBinding === 'true';
      if (!deferred) throw new Error('this host plays sdkBinding (deferred binding) triggers only');
      const modelBindingData = batch.map((m) => ({ version: '1.0', source: 'AzureServiceBusReceivedMessage', contentType: 'application/octet-stream', content: hostContent(m) }));
      const data = trigger.cardinality === 'many' ? { collectionModelBindingData: { modelBindingData } } : { modelBindingData: modelBindingData[0] };
      const invocationId = randomUUID();
      const model = programmingModel.getInvocationModel({
        invocationId,
        metadata: fn.metadata,
        request: { invocationId, inputData: [{ name: trigger.name, data }], triggerMetadata: {} },
        state: 'invocation',
        log: (level: string, _category: string, message: string) => logs.push({ level, message }),
      });

      const report: InvocationReport = { settled, outputs: {}, logs, messages: batch.length };
      const autoComplete = trigger.autoCompleteMessages !== false;
      try {
        const { context, inputs } = await model.getArguments();
        const result = await model.invokeFunction(context, inputs, fn.handler);
        const response = await model.getResponse(context, result);
        for (const out of response.outputData ?? []) {
          const binding = fn.metadata.bindings[out.name]!;
          const bodies = outputBodies(out.data);
          report.outputs[out.name] = bodies;
          if (binding.type === 'serviceBus' && bodies.length > 0) {
            const sender = client.createSender(resolve(binding.topicName ?? binding.queueName));
            await sender.sendMessages(bodies.map((body) => ({ body: typeof body === 'string' ? Buffer.from(body) : Buffer.from(JSON.stringify(body)) })));
            await sender.close();
          }
        }
        if (autoComplete) for (const m of batch) await receiver.completeMessage(m);
      } catch (err) {
        report.error = err as Error;
        if (autoComplete) for (const m of batch) await receiver.abandonMessage(m).catch(() => {});
      }
      for (const m of batch) held.delete(m.lockToken!);
      return report;
    },
    kill() {
      active.delete(me);
    },
    async close() {
      for (const r of receivers.values()) await r.close();
      active.delete(me);
    },
  };
}

/** The bodies an output binding sends: one per array element; objects as JSON text. */
function outputBodies(data: RpcTypedData): unknown[] {
  const value: unknown = data.json !== undefined ? JSON.parse(data.json) : data.string !== undefined ? data.string : data.bytes !== undefined ? Buffer.from(data.bytes).toString('utf8') : undefined;
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** What the host puts in model binding data for one message: lock token (.NET GUID bytes), marker, AMQP message. */
function hostContent(message: ServiceBusReceivedMessage): Buffer {
  const raw = message._rawAmqpMessage;
  const p = raw.properties ?? {};
  const body = raw.body;
  const amqp = rhea.message.encode({
    ...(p.messageId === undefined ? {} : { message_id: p.messageId as string }),
    ...(p.correlationId === undefined ? {} : { correlation_id: p.correlationId as string }),
    ...(p.subject === undefined ? {} : { subject: p.subject }),
    ...(p.contentType === undefined ? {} : { content_type: p.contentType }),
    ...(raw.header?.deliveryCount === undefined ? {} : { delivery_count: raw.header.deliveryCount }),
    application_properties: raw.applicationProperties ?? {},
    message_annotations: raw.messageAnnotations ?? {},
    body: amqpBody(body),
  } as rhea.Message);
  return Buffer.concat([guidBytes(message.lockToken!), Buffer.from('x-opt-lock-token'), amqp]);
}

/** The raw message's body as it was on the wire: the SDK keeps a data section as is; otherwise JSON in one data section, as the SDK sends objects. */
function amqpBody(body: unknown): unknown {
  if (body !== null && typeof body === 'object' && 'typecode' in body) return body;
  return rhea.message.data_section(Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)));
}

/** A GUID string in .NET byte order (first three groups little-endian). */
function guidBytes(guid: string): Buffer {
  const b = Buffer.from(guid.replace(/-/g, ''), 'hex');
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
}

type Held = Map<string, { receiver: ServiceBusReceiver; message: ServiceBusReceivedMessage }>;
type Call<T> = grpc.ServerUnaryCall<T, unknown>;
type Req = { locktoken: string; deadletterReason?: { value: string } | null; deadletterErrorDescription?: { value: string } | null };

const settling = new WeakMap<ServiceBusReceiver, Promise<unknown>>();
type ActiveHost = { held: Held; record: (s: Settlement) => void };
/** Every live host of the process: a settlement goes to the one holding its lock token. */
const active = new Set<ActiveHost>();
let server: Promise<grpc.Server> | undefined;

/** Stop the Settlement service (after the last host of the spec file is closed). */
export async function stopSettlementServer(): Promise<void> {
  const s = await server;
  server = undefined;
  // A graceful shutdown waits for every call to end; the extension's channel may keep one open.
  if (s) {
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        s.forceShutdown();
        resolve();
      }, 5_000);
      s.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}

/**
 * The host's Settlement gRPC service, one per process: the extension builds its client once
 * per process from the worker's `--host`/`--port` arguments, which are set here.
 */
function settlementServer(): Promise<grpc.Server> {
  return (server ??= startSettlementServer());
}

async function startSettlementServer(): Promise<grpc.Server> {
  const protoPath = join(dirname(createRequire(import.meta.url).resolve('@azure/functions-extensions-servicebus/package.json')), 'dist', 'proto', 'settlement.proto');
  const definition = protoLoader.loadSync(protoPath, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [dirname(protoPath)] });
  const service = (grpc.loadPackageDefinition(definition) as unknown as Record<string, { service: grpc.ServiceDefinition }>).Settlement!.service;
  const settle = (verb: Settlement['verb'], act: (h: { receiver: ServiceBusReceiver; message: ServiceBusReceivedMessage }, req: Req) => Promise<unknown>) =>
    (call: Call<Req>, callback: grpc.sendUnaryData<unknown>) => {
      const owner = [...active].find((a) => a.held.has(call.request.locktoken));
      const h = owner?.held.get(call.request.locktoken);
      if (!h) return callback({ code: grpc.status.FAILED_PRECONDITION, details: `lock token ${call.request.locktoken} is not held by this invocation` });
      // One settlement at a time per receive link: rhea (3.0.5) merges dispositions settled in the
      // same turn into one range with the first one's outcome (a complete next to a dead-letter
      // went out as two completes). The host settles each message on its own.
      const previous = settling.get(h.receiver) ?? Promise.resolve();
      const done = previous.then(() => act(h, call.request));
      settling.set(h.receiver, done.catch(() => undefined));
      done.then(
        () => {
          owner?.record({
            verb,
            messageId: h.message.messageId,
            ...(call.request.deadletterReason ? { reason: call.request.deadletterReason.value } : {}),
            ...(call.request.deadletterErrorDescription ? { description: call.request.deadletterErrorDescription.value } : {}),
          });
          callback(null, {});
        },
        (err: Error) => callback({ code: grpc.status.INTERNAL, details: err.message }),
      );
    };
  const server = new grpc.Server();
  server.addService(service, {
    complete: settle('complete', (h) => h.receiver.completeMessage(h.message)),
    abandon: settle('abandon', (h) => h.receiver.abandonMessage(h.message)),
    deadletter: settle('deadletter', (h, req) =>
      h.receiver.deadLetterMessage(h.message, {
        ...(req.deadletterReason ? { deadLetterReason: req.deadletterReason.value } : {}),
        ...(req.deadletterErrorDescription ? { deadLetterErrorDescription: req.deadletterErrorDescription.value } : {}),
      } as { deadLetterReason: string; deadLetterErrorDescription: string }),
    ),
    renewMessageLock: settle('renew', (h) => h.receiver.renewMessageLock(h.message)),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  process.argv.push('--host', '127.0.0.1', '--port', String(port), '--functions-grpc-max-message-length', String(4 * 1024 * 1024));
  return server;
}
