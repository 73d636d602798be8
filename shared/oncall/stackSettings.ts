import type { AwsTargetSettings } from './awsTargetSettings.ts';

/** What a deployment's stack says about itself: the settings a replay needs, and its failure queue. */
export interface StackSettings extends Partial<AwsTargetSettings> {
  /** The function's on-failure queue (output FailureQueueUrl): the default source of `--stack`. */
  failureQueueUrl?: string;
}

/** The stack outputs the deployment declares (serverless.yml `resources.Outputs`). */
export const STACK_OUTPUTS = { idempotencyTable: 'IdempotencyTableName', countersTable: 'CountersTableName', eventBus: 'EventBusName', failureQueueUrl: 'FailureQueueUrl' } as const;

/**
 * The deployment's settings from its CloudFormation stack (`--stack <name>`): the idempotency
 * table, the bus results of routes without destination go to, the failure queue, and the
 * region the stack is in. Settings the stack does not give are left to the environment.
 * CloudFormation is reached on first use (AWS_ENDPOINT_URL_CLOUDFORMATION honoured).
 *
 * @example
 * const fromStack = await stackSettings('nearmesh-prod');
 * awsTargetSettings(process.env, fromStack) // the stack wins over the environment
 */
export async function stackSettings(stackName: string): Promise<StackSettings> {
  const { describeStackOutputs } = await import('../buses/cloudformation/stackOutputs.ts');
  // Without AWS_REGION the SDK needs a region to sign with: the profile's default, else us-east-1.
  const stack = await describeStackOutputs(stackName, process.env.AWS_REGION ? {} : { region: process.env.AWS_DEFAULT_REGION ?? 'us-east-1' });
  const o = stack.outputs;
  return {
    ...(o[STACK_OUTPUTS.idempotencyTable] ? { idempotencyTable: o[STACK_OUTPUTS.idempotencyTable] } : {}),
    ...(o[STACK_OUTPUTS.countersTable] ? { countersTable: o[STACK_OUTPUTS.countersTable] } : {}),
    ...(o[STACK_OUTPUTS.eventBus] ? { eventBus: o[STACK_OUTPUTS.eventBus] } : {}),
    ...(o[STACK_OUTPUTS.failureQueueUrl] ? { failureQueueUrl: o[STACK_OUTPUTS.failureQueueUrl] } : {}),
    ...(stack.region ? { region: stack.region } : {}),
  };
}

