import type { InvocationContext } from '@azure/functions';
import { jsonLogger } from '../../shared/core/index.ts';
import { createAzureMesh, tableClientFromEnv, type AzureMesh } from '../../shared/runtime/createAzureMesh.ts';
import { otelExportWanted, startOtelExport, type OtelExport } from '../../shared/telemetry/otelExport.ts';
import { createOnMessageHandler, type MessageBatch, type OnMessageDeps } from './createOnMessageHandler.ts';
import { DEFAULT_LOCK_DURATION_MS, DEFAULT_MAX_RETRY_WAIT_MS, settingsFromEnv, type AzureHandlerSettings } from './settingsFromEnv.ts';

export { asMessageBatch, createOnMessageHandler, DeliveryInProgressError } from './createOnMessageHandler.ts';
export type { MessageBatch, OnMessageDeps, SettlementActions, TriggerMessage } from './createOnMessageHandler.ts';
export { EdgeUnavailableError } from './EdgeUnavailableError.ts';

/**
 * The Service Bus trigger's handler as deployed: settings from app settings, the mesh built
 * once per worker on the first message (config, routes, providers, Table Storage, senders).
 * Every result is sent by a Service Bus sender inside the pipeline, before its message is
 * completed. Settings or a mesh that cannot be read are retried on every invocation, never
 * cached: the messages are abandoned (spaced out), not dead-lettered, until they are fixed.
 *
 * @example
 * app.serviceBusTopic('on-message', { ..., handler: (input, context) => onMessage(asMessageBatch(input), context) });
 * const onMessage = onMessageFromEnv();
 */
export function onMessageFromEnv(env: NodeJS.ProcessEnv = process.env) {
  let settings: AzureHandlerSettings | undefined;
  let mesh: Promise<AzureMesh> | undefined;
  let otel: Promise<OtelExport | undefined> | undefined;
  return (batch: MessageBatch, context: InvocationContext): Promise<void> => {
    let s: AzureHandlerSettings;
    try {
      s = settings ??= settingsFromEnv(env);
    } catch (err) {
      return createOnMessageHandler(unsettled(err))(batch, context);
    }
    return createOnMessageHandler({
      namespace: s.namespace,
      entity: s.entity,
      maxDeliveryCount: s.maxDeliveryCount,
      lockDurationMs: s.lockDurationMs,
      maxRetryWaitMs: s.maxRetryWaitMs,
      mesh: () =>
        (mesh ??= (async () => {
          // The standard OTEL_* settings export the mesh's spans and metrics (the SDK loads only then);
          // a worker that registered its own SDK (the Azure Monitor distro) is used as it is.
          await (otel ??= otelExportWanted(false, env) ? startOtelExport(env, 'nearmesh-azure').catch((err: unknown) => {
                jsonLogger({ base: { function: 'on-message' } }).warn('OpenTelemetry export could not start; the mesh runs without it', { error: err instanceof Error ? err.message : String(err) });
                return undefined;
              }) : Promise.resolve(undefined));
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
}

/**
 * The handler while the app settings cannot be read: every message is held and abandoned with
 * the reason. MaxDeliveryCount is unknown then, so the handler never dead-letters on its own.
 */
function unsettled(err: unknown): OnMessageDeps {
  return {
    namespace: '(unknown)',
    entity: '(unknown)',
    maxDeliveryCount: Number.POSITIVE_INFINITY,
    lockDurationMs: DEFAULT_LOCK_DURATION_MS,
    maxRetryWaitMs: DEFAULT_MAX_RETRY_WAIT_MS,
    mesh: () => Promise.reject(err instanceof Error ? new Error(`app settings: ${err.message}`, { cause: err }) : new Error(`app settings: ${String(err)}`)),
  };
}
