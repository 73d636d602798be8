import {
  ConfigError,
  MeshError,
  Pipeline,
  silentLogger,
  systemClock,
  type Clock,
  type Destination,
  type Logger,
  type MeshConfig,
  type ProviderLookup,
  type Publisher,
  type Route,
  type Store,
  type UsageCounters,
} from '../core/index.ts';
import { EventBridgePublisher, type EventBridgePublisherOptions } from '../buses/eventbridge/publisher.ts';
import type { AuditLog } from '../core/ports/AuditLog.ts';
import { createDynamoDbStore } from '../store/dynamodb/index.ts';
import { logAuditLog } from '../store/logAuditLog.ts';
import { loadMeshParts, publisherByKind, type ConfigSource } from './composeMesh.ts';

/** A route names a destination this deployment has no publisher for. Retrying will not help; deploy one. */
export class DestinationUnavailableError extends MeshError {
  override readonly name = 'DestinationUnavailableError';
  readonly code = 'DestinationUnavailable';
  readonly retryable = false;
}

export interface AwsMeshOptions {
  configFile: string;
  routesDir: string;
  /** The package-time snapshot of both (`mesh.compiled.json` in the package); see MeshPartsOptions.snapshotFile. */
  snapshotFile?: string;
  /** The idempotency table (MESH_IDEMPOTENCY_TABLE). Required unless `store` is given. */
  idempotencyTable?: string;
  /** The usage counters table (MESH_COUNTERS_TABLE). Unset: the store has no counters. */
  countersTable?: string;
  /**
   * Publishers by destination kind. `eventbridge` defaults to PutEvents; `servicebus`
   * (cross-cloud results from Lambda) has no default here: the Service Bus sender lives with
   * the Azure edge and is injected by whoever composes this mesh.
   */
  publishers?: Partial<Record<Destination['kind'], Publisher>>;
  eventBridge?: EventBridgePublisherOptions;
  /** Override the store (tests); default: DynamoDB idempotency, ledger = on-failure destination. */
  store?: Store;
  /** Override the model providers (tests); default: the registry with Bedrock, OpenAI, Azure OpenAI, simulated. */
  providers?: ProviderLookup & { close?(): Promise<void> };
  logger?: Logger;
  /** Where each model invocation attempt is recorded. Default: a structured `audit` line through `logger`. */
  audit?: AuditLog;
  /** Counters for route budgets and endpoint rate limits, shared by every instance. Default: the store's. */
  counters?: UsageCounters;
  clock?: Clock;
}

export interface AwsMesh {
  config: MeshConfig;
  routes: Route[];
  /** `snapshot` when the package-time snapshot was used, `files` when mesh.yaml and the routes were loaded at start. */
  configSource: ConfigSource;
  pipeline: Pipeline;
  store: Store;
  close(): Promise<void>;
}

/**
 * The Lambda edge's mesh: the same composition as the local mesh (config and routes from the
 * bundled files, the catalogue's providers, placer with circuits, one Pipeline) with AWS
 * adapters around it — PutEvents publishing, DynamoDB idempotency, failures thrown to the
 * on-failure destination by the handler.
 *
 * @example
 * const mesh = await createAwsMesh({ configFile: 'mesh.yaml', routesDir: 'events/routes', idempotencyTable: 'nearmesh-idem' });
 * const outcome = await mesh.pipeline.process(decodeEventBridgeEvent(event), { signal });
 */
export async function createAwsMesh(options: AwsMeshOptions): Promise<AwsMesh> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const parts = await loadMeshParts({ ...options, clock, logger });
  const { config, routes, providers } = parts;
  if (!options.store && !options.idempotencyTable) {
    throw new ConfigError([{ file: '(environment)', path: 'MESH_IDEMPOTENCY_TABLE', message: 'the idempotency table is not set; deploy with serverless.yml or set MESH_IDEMPOTENCY_TABLE' }]);
  }
  const store = options.store ?? createDynamoDbStore({ tableName: options.idempotencyTable!, ...(options.countersTable ? { countersTable: options.countersTable } : {}), logger });
  const eventBridge = options.publishers?.eventbridge ? undefined : new EventBridgePublisher({ logger, ...options.eventBridge });
  const publisher = publisherByKind({ ...(eventBridge ? { eventbridge: eventBridge } : {}), ...options.publishers }, (destination) => {
    const hint =
      destination.kind === 'servicebus'
        ? 'this Lambda has no Service Bus publisher: compose createAwsMesh with publishers.servicebus (connection string from an SSM parameter or secret, never from mesh.yaml)'
        : `the Lambda edge cannot publish to a destination of kind ${destination.kind}`;
    return new DestinationUnavailableError(`destination ${destination.name} (${destination.kind}) is not available here: ${hint}`, {
      context: { destination: destination.name },
    });
  });
  const pipeline = new Pipeline({ ...parts.pipeline, publisher, store, audit: options.audit ?? logAuditLog(logger), ...(options.counters ? { counters: options.counters } : {}) });
  const close = async () => {
    await providers.close?.();
    eventBridge?.close();
    await store.close();
  };
  return { config, routes, configSource: parts.configSource, pipeline, store, close };
}
