import type { FailureRecord, Store } from '../core/index.ts';
import { createAwsMesh, type AwsMeshOptions } from '../runtime/createAwsMesh.ts';
import { createDynamoDbStore } from '../store/dynamodb/index.ts';
import type { AwsTargetSettings } from './awsTargetSettings.ts';
import { meshReplayTarget } from './meshReplayTarget.ts';
import type { ReplayTarget } from './ReplayTarget.ts';

export interface AwsReplayTargetOptions {
  configFile: string;
  routesDir: string;
  models?: 'live' | 'simulated';
  settings: AwsTargetSettings;
  /** The local ledger: replay history (who, when, outcome). The claims and results are the deployment's. */
  ledger: Store['failures'];
}

/**
 * Replay dead letters of the Lambda edge in AWS: the route runs in the AWS mesh composition
 * (createAwsMesh) — results published with PutEvents to the route's destinations, claims
 * begun, renewed and completed in the deployment's DynamoDB table — so a result lands where
 * the function's would have, and a route the function (or an earlier replay) finished is
 * "already done".
 *
 * @example
 * const target = await openAwsReplayTarget({ configFile, routesDir, settings: awsTargetSettings(), ledger: local.failures });
 */
export async function openAwsReplayTarget(options: AwsReplayTargetOptions): Promise<ReplayTarget> {
  const { settings } = options;
  const cloud = createDynamoDbStore({ tableName: settings.idempotencyTable, ...(settings.countersTable ? { countersTable: settings.countersTable } : {}) });
  // The pipeline records a route that fails again in the local ledger, beside its history.
  const store: Store = { idempotency: cloud.idempotency, failures: options.ledger, events: cloud.events, ...(cloud.counters ? { counters: cloud.counters } : {}), close: () => cloud.close() };
  const meshOptions: AwsMeshOptions & { models?: 'live' | 'simulated' } = {
    configFile: options.configFile,
    routesDir: options.routesDir,
    store,
    ...(options.models ? { models: options.models } : {}),
  };
  const mesh = await createAwsMesh(meshOptions);
  return meshReplayTarget({
    pipeline: mesh.pipeline,
    config: mesh.config,
    idempotency: cloud.idempotency,
    ledger: options.ledger,
    via: `AWS (${settings.region}): claims in DynamoDB table ${settings.idempotencyTable}, results by PutEvents; history in the local ledger`,
    prepare: (failure) => withBus(failure, settings.eventBus),
    close: () => mesh.close(),
  });
}

/** A dead letter's event does not say which bus it was on: it is the function's bus. */
function withBus(failure: FailureRecord, bus: string): FailureRecord {
  const { origin } = failure.envelope;
  if (origin.transport !== 'eventbridge' || origin.bus) return failure;
  return { ...failure, envelope: { ...failure.envelope, origin: { ...origin, bus } } };
}
