import { createRequire } from 'node:module';
import { app, output, type InvocationContext, type ServiceBusTopicFunctionOptions } from '@azure/functions';
import { asMessageBatch, onMessageFromEnv } from './on-message.ts';
import { purgeClaimsFromEnv } from './purge-claims.ts';

// Registers the settlement actions: the resource factory that turns a `sdkBinding: true` Service
// Bus trigger's input into messages plus actions. A CommonJS side-effect module; required rather
// than imported because its published types are TypeScript sources that do not compile here.
createRequire(import.meta.url)('@azure/functions-extensions-servicebus');

/*
 * The Azure Functions registrations (Node.js v4 model): package.json `main` points here.
 * Settings come from app settings: ServiceBusConnection (or ServiceBusConnection__fullyQualifiedNamespace
 * for an identity), MESH_INPUT_TOPIC, MESH_SUBSCRIPTION, MESH_RESULTS_ENTITY, MESH_IDEMPOTENCY_TABLE.
 */

/**
 * Results for the function's own namespace: a Service Bus output binding with a fixed name
 * (`output.serviceBusTopic()` would hash one), so handlers and tests address it by this object:
 * `context.extraOutputs.get(resultsOutput)`. The binding sends bodies only, so each result is a
 * structured-mode CloudEvent.
 */
export const resultsOutput = output.generic({
  type: 'serviceBus',
  name: 'meshResults',
  topicName: '%MESH_RESULTS_ENTITY%',
  connection: 'ServiceBusConnection',
});

export function setResults(context: InvocationContext, bodies: Record<string, unknown>[]): void {
  context.extraOutputs.set(resultsOutput, bodies);
}

export const onMessage = onMessageFromEnv(setResults);

// `autoCompleteMessages` per trigger is honoured by the host but missing from the topic trigger's type.
const onMessageTrigger: ServiceBusTopicFunctionOptions & { autoCompleteMessages: boolean } = {
  connection: 'ServiceBusConnection',
  topicName: '%MESH_INPUT_TOPIC%',
  subscriptionName: '%MESH_SUBSCRIPTION%',
  // A batch per invocation: fewer cold paths, one idempotency round trip per message, results sent together.
  cardinality: 'many',
  // The handler gets the messages with settlement actions and settles each one itself:
  // complete, abandon (retry) or dead-letter with the mesh error as the reason.
  sdkBinding: true,
  autoCompleteMessages: false,
  // Without MESH_RESULTS_ENTITY there is no binding (an unresolved %setting% stops the host) and
  // every result goes through a sender, awaited before the message is completed.
  extraOutputs: process.env.MESH_RESULTS_ENTITY ? [resultsOutput] : [],
  handler: (input: unknown, context: InvocationContext) => onMessage(asMessageBatch(input), context),
};
app.serviceBusTopic('on-message', onMessageTrigger);

// Daily at 03:17 UTC (NCRONTAB): delete idempotency claims past their keep time.
app.timer('purge-claims', { schedule: '0 17 3 * * *', handler: purgeClaimsFromEnv() });
