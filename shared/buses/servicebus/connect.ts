import type { ServiceBusClient, ServiceBusClientOptions } from '@azure/service-bus';

/** How to reach one namespace: a connection string (SAS, or the emulator), or its host name and an Entra identity. */
export type ServiceBusConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; fullyQualifiedNamespace: string };

/** `acme-support` → `ACME_SUPPORT`, for environment variable names. */
function envName(namespace: string): string {
  return namespace.split('.')[0]!.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * Where the credentials of a namespace come from — never from mesh.yaml:
 * 1. `MESH_SERVICEBUS_<NAMESPACE>_CONNECTION` (e.g. `MESH_SERVICEBUS_ACME_SUPPORT_CONNECTION`): a connection string;
 * 2. for the function's own namespace, the trigger's connection: `ServiceBusConnection`
 *    (connection string) or `ServiceBusConnection__fullyQualifiedNamespace` (identity);
 * 3. otherwise `<namespace>.servicebus.windows.net` with DefaultAzureCredential (managed identity
 *    in Azure, `az login` or environment credentials elsewhere).
 *
 * @example
 * resolveServiceBusConnection('acme-support', process.env)
 * // { kind: 'identity', fullyQualifiedNamespace: 'acme-support.servicebus.windows.net' }
 */
export function resolveServiceBusConnection(namespace: string, env: NodeJS.ProcessEnv = process.env, homeNamespace?: string): ServiceBusConnection {
  const own = env[`MESH_SERVICEBUS_${envName(namespace)}_CONNECTION`];
  if (own) return { kind: 'connectionString', connectionString: own };
  if (homeNamespace !== undefined && sameNamespace(namespace, homeNamespace)) {
    if (env.ServiceBusConnection) return { kind: 'connectionString', connectionString: env.ServiceBusConnection };
    const fqns = env.ServiceBusConnection__fullyQualifiedNamespace;
    if (fqns) return { kind: 'identity', fullyQualifiedNamespace: fqns };
  }
  return { kind: 'identity', fullyQualifiedNamespace: namespace.includes('.') ? namespace : `${namespace}.servicebus.windows.net` };
}

/** `acme-support` and `acme-support.servicebus.windows.net` are the same namespace. */
export function sameNamespace(a: string, b: string): boolean {
  return a.split('.')[0]!.toLowerCase() === b.split('.')[0]!.toLowerCase();
}

/**
 * The SDK's own retries, bounded: its default waits up to 30 s between attempts on ServerBusy,
 * which outlasts a message lock (a send still running when the lock is lost is a result sent
 * for a message that will be delivered again). Three attempts within about 10 s; the caller
 * (pipeline, delivery) retries beyond that.
 */
export const SERVICE_BUS_RETRY = { maxRetries: 2, retryDelayInMs: 500, maxRetryDelayInMs: 4_000, timeoutInMs: 10_000, mode: 0 /* RetryMode.Exponential */ } as const;

/**
 * A client for a connection. The SDK (and @azure/identity) load here, on first use, so that
 * commands that never touch Service Bus do not pay for them.
 */
export async function createServiceBusClient(connection: ServiceBusConnection, options: ServiceBusClientOptions = {}): Promise<ServiceBusClient> {
  const { ServiceBusClient } = await import('@azure/service-bus');
  options = { ...options, retryOptions: { ...SERVICE_BUS_RETRY, ...options.retryOptions } };
  if (connection.kind === 'connectionString') return new ServiceBusClient(connection.connectionString, options);
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new ServiceBusClient(connection.fullyQualifiedNamespace, new DefaultAzureCredential(), options);
}

/** `tickets` → a queue; `orders/Subscriptions/risk` → a topic subscription. */
export function parseEntityPath(entity: string): { queueOrTopic: string; subscription?: string } {
  const m = /^([^/]+)\/subscriptions\/([^/]+)$/i.exec(entity);
  return m ? { queueOrTopic: m[1]!, subscription: m[2]! } : { queueOrTopic: entity };
}
