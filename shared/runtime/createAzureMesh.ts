import {
  ConfigError,
  Pipeline,
  silentLogger,
  systemClock,
  type Clock,
  type Destination,
  type Logger,
  type MeshConfig,
  type PipelineOptions,
  type ProviderLookup,
  type Publisher,
  type Route,
  type Store,
  type UsageCounters,
} from '../core/index.ts';
import { sameNamespace, ServiceBusPublisher } from '../buses/servicebus/index.ts';
import type { AuditLog } from '../core/ports/AuditLog.ts';
import { logAuditLog } from '../store/logAuditLog.ts';
import { createTableStore, type TableStoreOptions } from '../store/tables/index.ts';
import { loadMeshParts, publisherByKind } from './composeMesh.ts';
export { tableClientFromEnv } from '../store/tables/index.ts';

/** The idempotency table's client (`@azure/data-tables`), named through the store so this file imports no SDK. */
type TableClient = NonNullable<TableStoreOptions['client']>;

export interface AzureMeshOptions {
  configFile: string;
  routesDir: string;
  /** The namespace the function is triggered from. */
  homeNamespace: string;
  /**
   * Where results of routes that name no destination go, in the home namespace
   * (MESH_RESULTS_ENTITY). Unset: back to the entity the event came from (the topic).
   */
  resultsEntity?: string;
  /** The idempotency table's client. Required unless `store` is given. */
  tableClient?: TableClient;
  /** Override the store (tests). Default: Table Storage idempotency, dead-letter subqueue as ledger. */
  store?: Store;
  /** Publishers by kind. Default: Service Bus senders (namespace connections from the environment) and PutEvents for EventBridge, loaded on first use. */
  publishers?: Partial<Record<Destination['kind'], Publisher>>;
  providers?: ProviderLookup & { close?(): Promise<void> };
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Where each model invocation attempt is recorded. Default: a structured `audit` line through `logger`. */
  audit?: AuditLog;
  /** Counters for route budgets and endpoint rate limits, shared by every instance. Default: the store's. */
  counters?: UsageCounters;
  clock?: Clock;
}

export interface AzureMesh {
  config: MeshConfig;
  routes: Route[];
  store: Store;
  /** Publishes by destination kind: Service Bus senders, PutEvents. Every send is awaited. */
  publisher: Publisher;
  /** The one pipeline: a result is sent (and the send awaited) before `process` returns. */
  pipeline: Pipeline;
  close(): Promise<void>;
}

/**
 * The Azure Functions edge's mesh: the same composition as the local mesh (config and routes
 * from the app's files, the catalogue's providers, placer with circuits) around the one
 * Pipeline, with Azure adapters: Table Storage idempotency, `@azure/service-bus` senders for
 * every Service Bus destination (no output binding: the host would send it after the messages
 * were settled), PutEvents for results that cross to AWS.
 *
 * @example
 * const mesh = await createAzureMesh({ configFile: 'mesh.yaml', routesDir: 'events/routes', homeNamespace: 'acme-support', resultsEntity: 'tickets-triaged', tableClient });
 * await mesh.pipeline.process(envelope);
 */
export async function createAzureMesh(options: AzureMeshOptions): Promise<AzureMesh> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const parts = await loadMeshParts({ ...options, clock, logger });
  const { config, routes, providers } = parts;
  if (!options.store && !options.tableClient) {
    throw new ConfigError([{ file: '(environment)', path: 'MESH_IDEMPOTENCY_TABLE', message: 'no idempotency table: set MESH_IDEMPOTENCY_TABLE and AzureWebJobsStorage (or MESH_TABLES_ENDPOINT with an identity)' }]);
  }
  const store = options.store ?? createTableStore({ client: options.tableClient!, clock, logger });
  const serviceBus = options.publishers?.servicebus ? undefined : new ServiceBusPublisher({ homeNamespace: options.homeNamespace, logger, ...(options.env ? { env: options.env } : {}) });
  const eventBridge = options.publishers?.eventbridge ? undefined : lazyEventBridge(logger);
  const byKind = publisherByKind(
    {
    ...(serviceBus ? { servicebus: serviceBus } : {}),
    ...(eventBridge ? { eventbridge: eventBridge.publisher } : {}),
    ...options.publishers,
    },
    (destination) =>
      new ConfigError([{ file: '(deployment)', path: `destinations.${destination.name}`, message: `the Azure edge cannot publish to a destination of kind ${destination.kind}` }]),
  );
  const publisher = withDefaultEntity(byKind, config, options.homeNamespace, options.resultsEntity);
  const pipelineOptions: PipelineOptions = { ...parts.pipeline, store, publisher, audit: options.audit ?? logAuditLog(logger), ...(options.counters ? { counters: options.counters } : {}) };
  return {
    config,
    routes,
    store,
    publisher,
    pipeline: new Pipeline(pipelineOptions),
    close: async () => {
      await providers.close?.();
      await serviceBus?.close();
      await eventBridge?.close();
      await store.close();
    },
  };
}

/**
 * Results of a route that names no destination go back where the event came from (a
 * destination the pipeline makes, not one of mesh.yaml's); with MESH_RESULTS_ENTITY set,
 * such results in the home namespace go to that entity instead.
 */
function withDefaultEntity(publisher: Publisher, config: MeshConfig, homeNamespace: string, resultsEntity: string | undefined): Publisher {
  if (!resultsEntity) return publisher;
  return {
    publish(destination, events) {
      const isDefault =
        destination.kind === 'servicebus' &&
        !Object.hasOwn(config.destinations, destination.name) &&
        (destination.namespace === undefined || sameNamespace(destination.namespace, homeNamespace));
      if (!isDefault) return publisher.publish(destination, events);
      return publisher.publish({ ...destination, name: `servicebus:${homeNamespace}/${resultsEntity}`, namespace: homeNamespace, entity: resultsEntity }, events);
    },
  };
}

/** PutEvents for results that cross to AWS; the AWS SDK loads only when a route sends there. */
function lazyEventBridge(logger: Logger): { publisher: Publisher; close(): Promise<void> } {
  let loaded: Promise<Publisher & { close(): void }> | undefined;
  return {
    publisher: {
      async publish(destination, events) {
        loaded ??= import('../buses/eventbridge/publisher.ts').then((m) => new m.EventBridgePublisher({ logger }));
        return (await loaded).publish(destination, events);
      },
    },
    close: async () => {
      if (loaded) (await loaded).close();
    },
  };
}
