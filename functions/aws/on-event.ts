/*
 * Lambda entry point: EventBridge rule → this function → the mesh pipeline → PutEvents.
 * Composition only; the use case is createOnEventHandler, the mesh is createAwsMesh.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { search } from '@aws-lambda-powertools/logger/correlationId';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { jsonLogger, type Logger as MeshLogger, type Publisher } from '../../shared/core/index.ts';
import { logAuditLog } from '../../shared/store/logAuditLog.ts';
import { createAwsMesh, type AwsMesh } from '../../shared/runtime/createAwsMesh.ts';
import { createOnEventHandler } from './createOnEventHandler.ts';
import { METRICS_NAMESPACE } from './routeMetrics.ts';
import { settingsFromEnv } from './meshFromEnv.ts';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'nearmesh';
const logger = new Logger({ serviceName, correlationIdSearchFn: search });
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE, serviceName });
const settings = settingsFromEnv();

// The pipeline's logger port, written by the Powertools logger (so lines carry the correlation id).
// Powertools drops fields named like its own keys; an error's `message` is kept as `reason`.
const RESERVED = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate', 'xray_trace_id', 'correlation_id']);
const fieldsOf = (fields: Record<string, unknown> = {}) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [RESERVED.has(k) ? (k === 'message' ? 'reason' : `mesh_${k}`) : k, v]));
const meshLogger: MeshLogger = {
  debug: (message, fields) => logger.debug(message, fieldsOf(fields)),
  info: (message, fields) => logger.info(message, fieldsOf(fields)),
  warn: (message, fields) => logger.warn(message, fieldsOf(fields)),
  error: (message, fields) => logger.error(message, fieldsOf(fields)),
};

// Audit lines go to CloudWatch Logs at info whatever POWERTOOLS_LOG_LEVEL says (or log sampling
// decides): an operational level must not switch the audit trail off.
const audit = logAuditLog(jsonLogger({ level: 'info', base: { service: serviceName }, write: (line) => process.stdout.write(line + '\n') }));

/*
 * What only some routes or failures need is imported on first use, not at init: the bundle is
 * split (serverless.yml, custom.esbuild), so the Service Bus publisher with its SSM lookup and
 * the SQS client sit in chunks that a cold start without such a result never reads.
 */

// Results for a Service Bus destination (cross-cloud) go out with a connection string read
// from SSM Parameter Store (/nearmesh/servicebus/<namespace>), never from the package.
let servicebusPublisher: Promise<Publisher> | undefined;
const servicebusOnce = (): Promise<Publisher> =>
  (servicebusPublisher ??= Promise.all([import('../../shared/buses/servicebus/index.ts'), import('../../shared/buses/servicebus/ssmConnections.ts')]).then(
    ([{ createServiceBusClient, ServiceBusPublisher }, { ssmServiceBusConnections }]) => {
      const connectionFor = ssmServiceBusConnections({ prefix: process.env.MESH_SERVICEBUS_PARAMETER_PREFIX || undefined });
      return new ServiceBusPublisher({ client: async (ns) => createServiceBusClient(await connectionFor(ns)), logger: meshLogger });
    },
  ));
const servicebus: Publisher = { publish: async (destination, events) => (await servicebusOnce()).publish(destination, events) };

// Built on the first invocation and kept for the container's life; a failed build is retried next time.
// Config and routes come from the package's snapshot (mesh.compiled.json, validated at package
// time) when there is one: a stale or edited snapshot fails the build here, with the file to fix.
let mesh: Promise<AwsMesh> | undefined;
function meshOnce(): Promise<AwsMesh> {
  if (mesh) return mesh;
  mesh = createAwsMesh({ ...settings.mesh, logger: meshLogger, audit, publishers: { servicebus } }).catch((err: unknown) => {
    mesh = undefined;
    throw err;
  });
  return mesh;
}

// The on-failure queue, for failures retrying cannot fix (created on first use: most invocations never need it).
let failureQueue: Promise<{ send(body: string): Promise<unknown> }> | undefined;
const failureQueueUrl = settings.failureQueueUrl;
const failureQueueOnce = failureQueueUrl
  ? () => ({
      send: async (body: string) =>
        (await (failureQueue ??= import('../../shared/buses/sqs/index.ts').then(({ SqsDeadLetterQueue }) => new SqsDeadLetterQueue(failureQueueUrl)))).send(body),
    })
  : undefined;
if (!failureQueueOnce) logger.warn('MESH_FAILURE_QUEUE_URL is not set: permanent failures are thrown and retried by Lambda like the others');

export const handler = createOnEventHandler({
  ...(failureQueueOnce ? { failureQueue: failureQueueOnce } : {}),
  mesh: meshOnce,
  logger,
  metrics,
  serviceName,
  eventBus: settings.eventBus,
  publishMarginMs: settings.publishMarginMs,
});
