import { CloudFormationClient, DescribeStacksCommand, type CloudFormationClientConfig } from '@aws-sdk/client-cloudformation';
import { awsSourceError, SourceNotFoundError } from '../sqs/awsSourceErrors.ts';

/** A deployed stack's outputs, and the region its id names. */
export interface StackOutputs {
  stackName: string;
  /** From the stack id (`arn:aws:cloudformation:<region>:…`). */
  region?: string;
  outputs: Record<string, string>;
}

/**
 * Read a stack's outputs with DescribeStacks: what `mesh replay --stack <name>` uses to find
 * the deployment's idempotency table, bus and failure queue. The only file that talks to
 * CloudFormation; SDK errors become Source… MeshErrors saying what to check (a stack that
 * does not exist is a ValidationError from the service: SourceNotFoundError here).
 *
 * @example
 * const { outputs } = await describeStackOutputs('nearmesh-prod');
 * outputs.IdempotencyTableName // → 'nearmesh-prod-idempotency'
 */
export async function describeStackOutputs(stackName: string, client: CloudFormationClientConfig = {}): Promise<StackOutputs> {
  const cfn = new CloudFormationClient({ maxAttempts: 3, ...client });
  // The translation only names the service in its texts; its type lists the sources it was written for.
  const target = { service: 'CloudFormation', resource: `stack ${stackName}`, endpointVariable: 'AWS_ENDPOINT_URL_CLOUDFORMATION', permission: 'cloudformation:DescribeStacks' } as unknown as Parameters<typeof awsSourceError>[1];
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new SourceNotFoundError(`CloudFormation has no stack ${stackName}`, { context: { source: stackName } });
    const outputs: Record<string, string> = {};
    for (const o of stack.Outputs ?? []) if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
    const region = /^arn:[^:]+:cloudformation:([^:]+):/.exec(stack.StackId ?? '')?.[1];
    return { stackName: stack.StackName ?? stackName, ...(region ? { region } : {}), outputs };
  } catch (err) {
    const e = err as { name?: string; Code?: string; message?: string };
    // CloudFormation says "Stack with id … does not exist" as a ValidationError (HTTP 400).
    if ((e.name === 'ValidationError' || e.Code === 'ValidationError') && /does not exist/.test(e.message ?? '')) {
      throw new SourceNotFoundError(`CloudFormation has no stack ${stackName} in ${process.env.AWS_REGION ?? 'this region'} (${e.message}). Check the name (serverless deploy prints it: <service>-<stage>) and AWS_REGION.`, {
        context: { source: stackName },
      });
    }
    throw awsSourceError(err, target);
  } finally {
    cfn.destroy();
  }
}
