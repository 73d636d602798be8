import {
  ConfigError,
  Pipeline,
  silentLogger,
  systemClock,
  type Clock,
  type Destination,
  type Envelope,
  type Logger,
  type MeshConfig,
  type PipelineOptions,
  type ProviderLookup,
  type Publisher,
  type Route,
  type Store,
} from '../core/index.ts';
import { sameNamespace, ServiceBusPublisher } from '../buses/servicebus/index.ts';
import { createTableStore, type TableStoreOptions } from '../store/tables/index.ts';
import { loadMeshParts, publisherByKind } from './composeMesh.ts';
export { tableClientFromEnv } from '../store/tables/index.ts';

/** The idempotency table's client (`@azure/data-tables`), named through the store so this file imports no SDK. */
type TableClient = NonNullable<TableStoreOptions['client']>;

export interface AzureMeshOptions {
  configFile: string;
  routesDir: string;
  /** The namespace the function is triggered from (its results binding sends there). */
  homeNamespace: string;
  /** The topic or queue the results output binding sends to (MESH_RESULTS_ENTITY). */
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
  clock?: Clock;
}

export interface AzureMesh {
  config: MeshConfig;
  routes: Route[];
  store: Store;
  /** Publishes by destination kind, without the output binding (Service Bus senders, EventBridge). */
  publisher: Publisher;
  /**
   * The pipeline for one invocation: results bound for the output binding's entity are
   * collected into `binding` (the handler hands them to `context.extraOutputs`), all others
   * go through `publisher`.
   */
  pipelineFor(binding: Envelope[]): Pipeline;
  close(): Promise<void>;
}

/**
 * The Azure Functions edge's mesh: the same composition as the local mesh (config and routes
 * from the app's files, the catalogue's providers, placer with circuits) around the one
 * Pipeline, with Azure adapters: Table Storage idempotency, the Service Bus output binding for
 * the function's own results entity, `@azure/service-bus` senders for other entities and
 * namespaces, PutEvents for results that cross to AWS.
 *
 * @example
 * const mesh = await createAzureMesh({ configFile: 'mesh.yaml', routesDir: 'events/routes', homeNamespace: 'acme-support', resultsEntity: 'tickets-triaged', tableClient });
 * const binding: Envelope[] = [];
 * await mesh.pipelineFor(binding).process(envelope);
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
  const publisher = publisherByKind(
    {
    ...(serviceBus ? { servicebus: serviceBus } : {}),
    ...(eventBridge ? { eventbridge: eventBridge.publisher } : {}),
    ...options.publishers,
    },
    (destination) =>
      new ConfigError([{ file: '(deployment)', path: `destinations.${destination.name}`, message: `the Azure edge cannot publish to a destination of kind ${destination.kind}` }]),
  );
  const shared: Omit<PipelineOptions, 'publisher'> = { ...parts.pipeline, store };
  const bindingTarget = options.resultsEntity;
  return {
    config,
    routes,
    store,
    publisher,
    pipelineFor(binding) {
      const viaBinding: Publisher = {
        async publish(destination, events) {
          const toBinding =
            bindingTarget !== undefined &&
            destination.kind === 'servicebus' &&
            destination.namespace !== undefined &&
            sameNamespace(destination.namespace, options.homeNamespace) &&
            destination.entity?.toLowerCase() === bindingTarget.toLowerCase();
          if (!toBinding) return publisher.publish(destination, events);
          // Sent by the host when the invocation returns.
          binding.push(...events);
          return events.map((e) => ({ id: e.event.id, ok: true as const }));
        },
      };
      return new Pipeline({ ...shared, publisher: viaBinding });
    },
    close: async () => {
      await providers.close?.();
      await serviceBus?.close();
      await eventBridge?.close();
      await store.close();
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
