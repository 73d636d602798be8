import { app, output, type InvocationContext } from '@azure/functions';
import type { OutgoingServiceBusMessage } from '../../shared/buses/index.ts';
import { onMessageFromEnv } from './on-message.ts';

/*
 * The Azure Functions registrations (Node.js v4 model): package.json `main` points here.
 * Settings come from app settings: ServiceBusConnection (or ServiceBusConnection__fullyQualifiedNamespace
 * for an identity), MESH_INPUT_TOPIC, MESH_SUBSCRIPTION, MESH_RESULTS_ENTITY, MESH_IDEMPOTENCY_TABLE.
 */

/**
 * Results for the function's own namespace: a Service Bus output binding with a fixed name
 * (`output.serviceBusTopic()` would hash one), so handlers and tests address it by this object:
 * `context.extraOutputs.get(resultsOutput)`.
 */
export const resultsOutput = output.generic({
  type: 'serviceBus',
  name: 'meshResults',
  topicName: '%MESH_RESULTS_ENTITY%',
  connection: 'ServiceBusConnection',
});

export function setResults(context: InvocationContext, messages: OutgoingServiceBusMessage[]): void {
  context.extraOutputs.set(resultsOutput, messages);
}

export const onMessage = onMessageFromEnv(setResults);

app.serviceBusTopic('on-message', {
  connection: 'ServiceBusConnection',
  topicName: '%MESH_INPUT_TOPIC%',
  subscriptionName: '%MESH_SUBSCRIPTION%',
  // A batch per invocation: fewer cold paths, one idempotency round trip per message, results sent together.
  cardinality: 'many',
  extraOutputs: [resultsOutput],
  handler: onMessage,
});
