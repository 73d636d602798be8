import { SettingMissingError } from './errors.ts';

/** What a replay needs to act as the Lambda function would: the same settings it reads. */
export interface AwsTargetSettings {
  /** MESH_IDEMPOTENCY_TABLE: the deployment's claims (CloudFormation output IdempotencyTableName). */
  idempotencyTable: string;
  /** MESH_EVENT_BUS: where results of a route without destination go back to. */
  eventBus: string;
  /** AWS_REGION: the deployment's region (DynamoDB, and PutEvents for destinations without one). */
  region: string;
  /** MESH_COUNTERS_TABLE: the usage counters (output CountersTableName), so a replay counts against the same budgets and limits. */
  countersTable?: string;
}

const LOCAL = 'or replay through the local mesh on purpose with --target local';

/**
 * The deployment's settings from the variables the function uses (`AWS_ENDPOINT_URL_*` are read
 * by the SDK itself). `given` wins over the environment (values read from a stack's outputs).
 * Throws SettingMissingError naming the first variable that is missing.
 *
 * @example
 * awsTargetSettings({ MESH_IDEMPOTENCY_TABLE: 'nearmesh-idem', MESH_EVENT_BUS: 'acme-orders', AWS_REGION: 'us-east-1' })
 */
export function awsTargetSettings(env: NodeJS.ProcessEnv = process.env, given: Partial<AwsTargetSettings> = {}): AwsTargetSettings {
  const pick = (value: string | undefined, name: string, what: string): string => {
    if (value) return value;
    throw new SettingMissingError(name, `${name} is not set: ${what}. Set it as the function has it (or pass --stack <name>), ${LOCAL}`);
  };
  const countersTable = given.countersTable ?? env.MESH_COUNTERS_TABLE;
  return {
    ...(countersTable ? { countersTable } : {}),
    idempotencyTable: pick(given.idempotencyTable ?? env.MESH_IDEMPOTENCY_TABLE, 'MESH_IDEMPOTENCY_TABLE', "the deployment's idempotency table, where its claims are kept"),
    eventBus: pick(given.eventBus ?? env.MESH_EVENT_BUS, 'MESH_EVENT_BUS', 'the bus the function sends results of routes without destination back to'),
    region: pick(given.region ?? env.AWS_REGION, 'AWS_REGION', "the deployment's region"),
  };
}
