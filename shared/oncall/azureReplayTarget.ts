import type { Store } from '../core/index.ts';
import { createAzureMesh, tableClientFromEnv } from '../runtime/createAzureMesh.ts';
import { createTableStore } from '../store/tables/index.ts';
import { SettingMissingError } from './errors.ts';
import { meshReplayTarget } from './meshReplayTarget.ts';
import type { ReplayTarget } from './ReplayTarget.ts';

export interface AzureReplayTargetOptions {
  configFile: string;
  routesDir: string;
  models?: 'live' | 'simulated';
  /** The namespace the dead letters are in: the function's own (its sends may reuse its connection). */
  namespace: string;
  /** The local ledger: replay history. The claims and results are the deployment's. */
  ledger: Store['failures'];
  /**
   * The function's settings: MESH_SERVICEBUS_<NS>_CONNECTION (else your Azure login),
   * AzureWebJobsStorage or MESH_TABLES_ENDPOINT, MESH_IDEMPOTENCY_TABLE, MESH_RESULTS_ENTITY.
   */
  env?: NodeJS.ProcessEnv;
}

/**
 * Replay dead letters of the Azure edge in Azure: the route runs in the Azure mesh composition
 * (createAzureMesh) — results sent by a Service Bus sender to the route's destinations, claims
 * in the deployment's Table Storage — and never by resubmitting the message to its topic,
 * which would reach every subscription of the topic, not just the mesh's route.
 *
 * @example
 * const target = await openAzureReplayTarget({ configFile, routesDir, namespace: 'acme-support', ledger: local.failures });
 */
export async function openAzureReplayTarget(options: AzureReplayTargetOptions): Promise<ReplayTarget> {
  const env = options.env ?? process.env;
  const client = await tableClientFromEnv(env);
  if (!client) {
    throw new SettingMissingError(
      'AzureWebJobsStorage',
      "the deployment's idempotency table is unknown: set AzureWebJobsStorage (the function's storage connection string) or MESH_TABLES_ENDPOINT (with your Azure login), and MESH_IDEMPOTENCY_TABLE if it is not meshidempotency; or replay through the local mesh on purpose with --target local",
    );
  }
  const cloud = createTableStore({ client });
  const store: Store = { idempotency: cloud.idempotency, failures: options.ledger, events: cloud.events, ...(cloud.counters ? { counters: cloud.counters } : {}), close: () => cloud.close() };
  const mesh = await createAzureMesh({
    configFile: options.configFile,
    routesDir: options.routesDir,
    homeNamespace: options.namespace,
    ...(env.MESH_RESULTS_ENTITY ? { resultsEntity: env.MESH_RESULTS_ENTITY } : {}),
    store,
    env,
    ...(options.models ? ({ models: options.models } as object) : {}),
  });
  return meshReplayTarget({
    pipeline: mesh.pipeline,
    config: mesh.config,
    idempotency: cloud.idempotency,
    ledger: options.ledger,
    via: `Azure (${options.namespace}): claims in Table Storage table ${env.MESH_IDEMPOTENCY_TABLE ?? 'meshidempotency'}, results by Service Bus senders; history in the local ledger`,
    close: () => mesh.close(),
  });
}
