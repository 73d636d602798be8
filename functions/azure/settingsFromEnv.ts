import { join } from 'node:path';

/** Service Bus's default LockDuration (PT1M). */
export const DEFAULT_LOCK_DURATION_MS = 60_000;
/** The longest a retried message is held before it is abandoned, unless MESH_RETRY_WAIT_MAX_SECONDS says otherwise. */
export const DEFAULT_MAX_RETRY_WAIT_MS = 60_000;

export interface AzureHandlerSettings {
  configFile: string;
  routesDir: string;
  /** The trigger's namespace: MESH_SERVICEBUS_NAMESPACE, else read from the trigger's connection. */
  namespace: string;
  /** The entity the trigger reads, as the dead-letter reader names it: `<topic>/Subscriptions/<sub>`. */
  entity: string;
  /** Where results of routes that name no destination go, in the trigger's namespace (MESH_RESULTS_ENTITY); unset, back to the input topic. */
  resultsEntity?: string;
  /** The subscription's MaxDeliveryCount (MESH_MAX_DELIVERY_COUNT, default 10, Service Bus's default). */
  maxDeliveryCount: number;
  /** The subscription's LockDuration (MESH_LOCK_DURATION_SECONDS, default 60, Service Bus's default). */
  lockDurationMs: number;
  /** The longest hold before a retried message is abandoned (MESH_RETRY_WAIT_MAX_SECONDS, default 60). */
  maxRetryWaitMs: number;
}

/**
 * The handler's settings from its app settings. The config ships with the app (`mesh.yaml`,
 * `events/` at the app root); MESH_CONFIG and MESH_ROUTES_DIR point elsewhere (tests do).
 *
 * @example
 * settingsFromEnv({ ServiceBusConnection__fullyQualifiedNamespace: 'acme-support.servicebus.windows.net', MESH_INPUT_TOPIC: 'tickets', MESH_SUBSCRIPTION: 'mesh' }).entity
 * // 'tickets/Subscriptions/mesh'
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): AzureHandlerSettings {
  const root = process.cwd();
  const namespace = env.MESH_SERVICEBUS_NAMESPACE || namespaceOf(env);
  if (!namespace) throw new Error('the trigger namespace is unknown: set MESH_SERVICEBUS_NAMESPACE, ServiceBusConnection__fullyQualifiedNamespace or ServiceBusConnection');
  const topic = env.MESH_INPUT_TOPIC;
  if (!topic) throw new Error('MESH_INPUT_TOPIC is not set: the topic the function is triggered from');
  const max = Number(env.MESH_MAX_DELIVERY_COUNT ?? 10);
  if (!Number.isInteger(max) || max < 1) throw new Error(`MESH_MAX_DELIVERY_COUNT must be a whole number ≥ 1, got "${env.MESH_MAX_DELIVERY_COUNT}"`);
  return {
    configFile: env.MESH_CONFIG ?? join(root, 'mesh.yaml'),
    routesDir: env.MESH_ROUTES_DIR ?? join(root, 'events', 'routes'),
    namespace,
    entity: env.MESH_SUBSCRIPTION ? `${topic}/Subscriptions/${env.MESH_SUBSCRIPTION}` : topic,
    ...(env.MESH_RESULTS_ENTITY ? { resultsEntity: env.MESH_RESULTS_ENTITY } : {}),
    maxDeliveryCount: max,
    lockDurationMs: seconds(env, 'MESH_LOCK_DURATION_SECONDS', DEFAULT_LOCK_DURATION_MS),
    maxRetryWaitMs: seconds(env, 'MESH_RETRY_WAIT_MAX_SECONDS', DEFAULT_MAX_RETRY_WAIT_MS),
  };
}

/** A duration setting in seconds (fractions allowed), as milliseconds. */
function seconds(env: NodeJS.ProcessEnv, name: string, fallbackMs: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallbackMs;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a number of seconds > 0, got "${raw}"`);
  return Math.round(value * 1000);
}

/** `acme-support.servicebus.windows.net` → `acme-support`; from the identity setting or the connection string's Endpoint. */
function namespaceOf(env: NodeJS.ProcessEnv): string | undefined {
  const fqns = env.ServiceBusConnection__fullyQualifiedNamespace ?? /Endpoint=sb:\/\/([^/;:]+)/i.exec(env.ServiceBusConnection ?? '')?.[1];
  return fqns?.split('.')[0];
}
