import type { InvocationContext } from '@azure/functions';
import { jsonLogger } from '../../shared/core/index.ts';
import { createAzureMesh, tableClientFromEnv, type AzureMesh } from '../../shared/runtime/createAzureMesh.ts';
import { createOnMessageHandler, type MessageBatch, type OnMessageDeps } from './createOnMessageHandler.ts';
import { settingsFromEnv } from './settingsFromEnv.ts';

export { asMessageBatch, createOnMessageHandler, DeliveryInProgressError } from './createOnMessageHandler.ts';
export type { MessageBatch, OnMessageDeps, SettlementActions, TriggerMessage } from './createOnMessageHandler.ts';

/**
 * The Service Bus trigger's handler as deployed: settings from app settings, the mesh built
 * once per worker on the first message (config, routes, providers, Table Storage, senders).
 * `setBindingOutput` comes from the registration module, which owns the output binding.
 */
export function onMessageFromEnv(setBindingOutput: OnMessageDeps['setBindingOutput'], env: NodeJS.ProcessEnv = process.env) {
  let settings: ReturnType<typeof settingsFromEnv> | undefined;
  let mesh: Promise<AzureMesh> | undefined;
  const current = () => (settings ??= settingsFromEnv(env));
  const handler = (batch: MessageBatch, context: InvocationContext) => {
    const s = current();
    return createOnMessageHandler({
      namespace: s.namespace,
      entity: s.entity,
      maxDeliveryCount: s.maxDeliveryCount,
      setBindingOutput,
      mesh: () =>
        (mesh ??= (async () => {
          const tableClient = await tableClientFromEnv(env);
          return createAzureMesh({
            configFile: s.configFile,
            routesDir: s.routesDir,
            homeNamespace: s.namespace,
            ...(s.resultsEntity ? { resultsEntity: s.resultsEntity } : {}),
            ...(tableClient ? { tableClient } : {}),
            env,
            logger: jsonLogger({ base: { function: 'on-message' } }),
          });
        })().catch((err: unknown) => {
          // A failed start (bad config, no table) is tried again on the next message, not cached.
          mesh = undefined;
          throw err;
        })),
    })(batch, context);
  };
  return handler;
}
