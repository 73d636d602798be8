import { createRequire } from 'node:module';
import { app, type InvocationContext, type ServiceBusTopicFunctionOptions } from '@azure/functions';
import { asMessageBatch, onMessageFromEnv } from './on-message.ts';
import { purgeClaimsFromEnv } from './purge-claims.ts';

// Registers the settlement actions: the resource factory that turns a `sdkBinding: true` Service
// Bus trigger's input into messages plus actions. A CommonJS side-effect module; required rather
// than imported because its published types are TypeScript sources that do not compile here.
createRequire(import.meta.url)('@azure/functions-extensions-servicebus');

/*
 * The Azure Functions registrations (Node.js v4 model): package.json `main` points here.
 * Settings come from app settings: ServiceBusConnection (or ServiceBusConnection__fullyQualifiedNamespace
 * for an identity), MESH_INPUT_TOPIC, MESH_SUBSCRIPTION, MESH_RESULTS_ENTITY, MESH_IDEMPOTENCY_TABLE,
 * MESH_MAX_DELIVERY_COUNT, MESH_LOCK_DURATION_SECONDS, MESH_RETRY_WAIT_MAX_SECONDS.
 */

export const onMessage = onMessageFromEnv();

// `autoCompleteMessages` per trigger is honoured by the host but missing from the topic trigger's type.
const onMessageTrigger: ServiceBusTopicFunctionOptions & { autoCompleteMessages: boolean } = {
  connection: 'ServiceBusConnection',
  topicName: '%MESH_INPUT_TOPIC%',
  subscriptionName: '%MESH_SUBSCRIPTION%',
  // A batch per invocation: fewer cold paths, one idempotency round trip per message.
  cardinality: 'many',
  // The handler gets the messages with settlement actions and settles each one itself:
  // complete, abandon (retry) or dead-letter with the mesh error as the reason.
  sdkBinding: true,
  autoCompleteMessages: false,
  // No output binding: the host would send it after the handler settled its messages, so a
  // failed send would lose results of completed messages. Every result goes through a sender,
  // awaited before its message is completed.
  handler: (input: unknown, context: InvocationContext) => onMessage(asMessageBatch(input), context),
};
app.serviceBusTopic('on-message', onMessageTrigger);

// Daily at 03:17 UTC (NCRONTAB): delete idempotency claims past their keep time.
app.timer('purge-claims', { schedule: '0 17 3 * * *', handler: purgeClaimsFromEnv() });
