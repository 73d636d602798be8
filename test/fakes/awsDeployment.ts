/*
 * What the replay e2e tests and the replay bench share about an AWS deployment faked on this
 * machine: the on-failure record Lambda writes for a rule delivery it gave up on, and the
 * environment the `mesh` command reads to reach the SQS, EventBridge and DynamoDB wire fakes.
 */

export interface FailureRecordOptions {
  /** The route the rule delivery was for. Default `order-risk`. */
  routeId?: string;
  requestId?: string;
  /** The function's region, in its ARN. Default `us-east-1`. */
  region?: string;
}

/**
 * The on-failure record of a rule delivery `{ meshRoute, event }` that Lambda gave up on
 * after its retries (condition RetriesExhausted), as its SQS destination holds it.
 *
 * @example
 * sqs.send(queueUrl, lambdaFailureRecord({ ...order, id: 'e-1' }));
 */
export function lambdaFailureRecord(event: Record<string, unknown>, options: FailureRecordOptions = {}): string {
  const region = options.region ?? 'us-east-1';
  return JSON.stringify({
    version: '1.0',
    timestamp: '2026-03-02T09:20:00.000Z',
    requestContext: {
      requestId: options.requestId ?? 'req-1',
      functionArn: `arn:aws:lambda:${region}:000000000000:function:nearmesh-on-event:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    },
    requestPayload: { meshRoute: options.routeId ?? 'order-risk', event },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'ModelsExhaustedError', errorMessage: 'every allowed endpoint failed', trace: [] },
  });
}

/**
 * The variables `mesh replay --source sqs:` reads to reach the wire fakes as the deployment
 * (fake credentials, no profile), plus the deployment's table and bus.
 */
export function awsDeploymentEnv(fakes: { sqs: { url: string }; events: { url: string }; dynamo: { url: string } }, home: string, table: string): Record<string, string> {
  return {
    MESH_HOME: home,
    AWS_ENDPOINT_URL_SQS: fakes.sqs.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: fakes.events.url,
    AWS_ENDPOINT_URL_DYNAMODB: fakes.dynamo.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret',
    AWS_PROFILE: '',
    MESH_IDEMPOTENCY_TABLE: table,
    MESH_EVENT_BUS: 'acme-orders',
  };
}
