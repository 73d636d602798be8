/*
 * The `bedrock` ModelProvider: the Converse API through the real BedrockRuntimeClient.
 * Configuration is the AWS SDK's own: credentials from the default chain (IAM role,
 * AWS_PROFILE, environment), the endpoint from AWS_ENDPOINT_URL_BEDROCK_RUNTIME when set
 * (or `options.endpoint` in mesh.yaml, e.g. a VPC interface endpoint). The SDK's retries are
 * off (`maxAttempts: 1`): the mesh's policy retries, honours Retry-After and fails over to
 * the next allowed endpoint, and two retry loops stacked would blow the time budget.
 */
import { BedrockRuntimeClient, ConverseCommand, type BedrockRuntimeClientConfig, type ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import type { ModelEndpoint } from '../../core/catalogue.ts';
import type { ErrorContext } from '../../core/errors.ts';
import type { ModelProvider, ModelRequest, ModelResponse } from '../../core/ports/ModelProvider.ts';
import type { EndpointIssue } from '../options.ts';
import { answerWithRepair } from '../structured.ts';
import { bedrockError } from './bedrockErrors.ts';
import { checkBedrockEndpoint } from './bedrockOptions.ts';
import { converseInput, converseTurn, type ConverseState, type ToolChoiceMode } from './converse.ts';

export interface BedrockProviderOptions {
  /** Credentials for every client; default: the AWS SDK's default chain. */
  credentials?: BedrockRuntimeClientConfig['credentials'];
  /** Where the secrets to keep out of error messages are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The `bedrock` provider. One client per region (and endpoint override), created on first use.
 *
 * @example
 * const provider = new BedrockProvider();
 * const { output, usage } = await provider.invoke(request, AbortSignal.timeout(10_000));
 * provider.close();
 */
export class BedrockProvider implements ModelProvider {
  readonly kind = 'bedrock';
  private readonly clients = new Map<string, BedrockRuntimeClient>();
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly options: BedrockProviderOptions = {}) {
    this.env = options.env ?? process.env;
  }

  async invoke(request: ModelRequest, signal: AbortSignal): Promise<ModelResponse> {
    const { endpoint } = request;
    const context: ErrorContext = { endpoint: endpoint.id, routeId: request.routeId, eventId: request.eventId };
    const client = this.clientFor(endpoint);
    const toolChoice: ToolChoiceMode = endpoint.options.toolChoice === 'any' ? 'any' : 'tool';
    return answerWithRepair<ConverseState>(request, context, async (repair) => {
      let output: ConverseCommandOutput;
      try {
        output = await client.send(new ConverseCommand(converseInput(request, toolChoice, repair)), { abortSignal: signal });
      } catch (err) {
        throw bedrockError(err, {
          endpointId: endpoint.id,
          modelId: endpoint.model,
          aborted: signal.aborted,
          context,
          secrets: [this.env.AWS_SECRET_ACCESS_KEY, this.env.AWS_SESSION_TOKEN, this.env.AWS_BEARER_TOKEN_BEDROCK],
        });
      }
      return converseTurn(output, request, context);
    });
  }

  /** Problems with an endpoint's mesh.yaml `options`, found at start rather than on the first event. */
  checkEndpoint(endpoint: ModelEndpoint): EndpointIssue[] {
    return checkBedrockEndpoint(endpoint);
  }

  /** Closes every client's connections (HTTP/2 sessions stay open otherwise). */
  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }

  private clientFor(endpoint: ModelEndpoint): BedrockRuntimeClient {
    const override = typeof endpoint.options.endpoint === 'string' ? endpoint.options.endpoint : undefined;
    const key = `${endpoint.region ?? ''}|${override ?? ''}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new BedrockRuntimeClient({
        // No region (a global endpoint): the SDK resolves one from AWS_REGION or the profile.
        ...(endpoint.region === undefined ? {} : { region: endpoint.region }),
        ...(override === undefined ? {} : { endpoint: override }),
        ...(this.options.credentials === undefined ? {} : { credentials: this.options.credentials }),
        maxAttempts: 1,
      });
      this.clients.set(key, client);
    }
    return client;
  }
}
