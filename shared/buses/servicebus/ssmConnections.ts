import type { SSMClient } from '@aws-sdk/client-ssm';
import { MeshError } from '../../core/index.ts';
import type { ServiceBusConnection } from './connect.ts';

/** A Service Bus namespace's connection string could not be read where it should be. */
export class ServiceBusConnectionUnavailableError extends MeshError {
  override readonly name = 'ServiceBusConnectionUnavailableError';
  readonly code = 'DestinationUnavailable';
  readonly retryable = false;
}

/** `/nearmesh/servicebus/acme-support`: where a Lambda finds a namespace's connection string. */
export function serviceBusParameterName(namespace: string, prefix = '/nearmesh/servicebus/'): string {
  return `${prefix}${namespace.split('.')[0]!.toLowerCase()}`;
}

export interface SsmConnectionsOptions {
  /** Parameter name prefix (MESH_SERVICEBUS_PARAMETER_PREFIX, default `/nearmesh/servicebus/`). */
  prefix?: string;
  /** Injected for tests; default a client honouring AWS_REGION, AWS_ENDPOINT_URL_SSM and the credential chain. */
  ssm?: () => Promise<SSMClient>;
}

/**
 * Service Bus connections for Lambda (results of a route whose destination is a Service Bus
 * topic): the connection string is a SecureString parameter in SSM Parameter Store, one per
 * namespace, read once per cold start — never in mesh.yaml, the package or the environment.
 * The function's role may read exactly those parameters (see serverless.yml).
 *
 * @example
 * const connectionFor = ssmServiceBusConnections();
 * await connectionFor('acme-support') // reads /nearmesh/servicebus/acme-support
 */
export function ssmServiceBusConnections(options: SsmConnectionsOptions = {}): (namespace: string) => Promise<ServiceBusConnection> {
  const cache = new Map<string, Promise<ServiceBusConnection>>();
  let client: Promise<SSMClient> | undefined;
  const ssm = options.ssm ?? (async () => new (await import('@aws-sdk/client-ssm')).SSMClient({ maxAttempts: 3 }));
  const read = async (namespace: string): Promise<ServiceBusConnection> => {
    const name = serviceBusParameterName(namespace, options.prefix);
    client ??= ssm();
    const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
    try {
      const out = await (await client).send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      const value = out.Parameter?.Value;
      if (!value) throw new Error('the parameter has no value');
      return { kind: 'connectionString', connectionString: value };
    } catch (err) {
      const kind = (err as { name?: string }).name ?? 'Error';
      // Never the value: only the parameter name and what went wrong.
      throw new ServiceBusConnectionUnavailableError(
        `no Service Bus connection for namespace ${namespace}: reading SSM parameter ${name} failed (${kind}); create it as a SecureString holding the connection string, and check the function's ssm:GetParameter permission`,
        { context: { namespace, parameter: name } },
      );
    }
  };
  return (namespace) => {
    const key = namespace.split('.')[0]!.toLowerCase();
    let found = cache.get(key);
    if (!found) {
      found = read(namespace);
      // A failed read is not cached: the parameter may be created while the function is warm.
      found.catch(() => cache.delete(key));
      cache.set(key, found);
    }
    return found;
  };
}
