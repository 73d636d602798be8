/*
 * The Chat Completions call shared by the `openai` and `azure-openai` providers: what
 * differs between them is only how a client is made (base URL, auth, api-version), which
 * each subclass says in `connect` (`openai` over node:http itself, `azure-openai` through the
 * openai client, whose retries are off). The mesh's policy retries, honours Retry-After and
 * fails over to the next allowed endpoint.
 */
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { ModelEndpoint } from '../../core/catalogue.ts';
import { MeshError, type ErrorContext } from '../../core/errors.ts';
import type { ModelProvider, ModelRequest, ModelResponse } from '../../core/ports/ModelProvider.ts';
import type { EndpointIssue } from '../options.ts';
import { answerWithRepair } from '../structured.ts';
import { chatBody, chatTurn, type ChatSettings, type ChatState } from './chat.ts';
import type { ChatCall } from './chatHttp.ts';
import { openaiError } from './openaiErrors.ts';

/** The call for one endpoint, the body settings it needs, and the secrets to keep out of messages. */
export interface Connection {
  /** Rejects with the openai client's errors (openaiErrors.ts translates them). */
  call: ChatCall;
  settings: ChatSettings;
  secrets: string[];
}

export abstract class ChatCompletionsProvider implements ModelProvider {
  abstract readonly kind: 'openai' | 'azure-openai';
  private readonly connections = new Map<string, Connection>();

  async invoke(request: ModelRequest, signal: AbortSignal): Promise<ModelResponse> {
    const { endpoint } = request;
    const context: ErrorContext = { endpoint: endpoint.id, routeId: request.routeId, eventId: request.eventId };
    const connection = this.connectionFor(endpoint, context);
    return answerWithRepair<ChatState>(request, context, async (repair) => {
      let completion: ChatCompletion;
      try {
        completion = await connection.call(chatBody(request, connection.settings, repair), signal);
      } catch (err) {
        // A credential that failed inside the client's auth hook arrives wrapped; ours is already a MeshError.
        if (err instanceof Error && err.cause instanceof MeshError) throw err.cause;
        throw openaiError(err, { provider: this.kind, endpointId: endpoint.id, aborted: signal.aborted, context, secrets: connection.secrets });
      }
      return chatTurn(completion, request, context, this.kind);
    });
  }

  /** Problems with an endpoint's mesh.yaml `options` or the environment it needs, found at start. */
  abstract checkEndpoint(endpoint: ModelEndpoint): EndpointIssue[];

  /** Makes the call for an endpoint; throws a MeshError when its configuration cannot work. */
  protected abstract connect(endpoint: ModelEndpoint, context: ErrorContext): Connection;

  private connectionFor(endpoint: ModelEndpoint, context: ErrorContext): Connection {
    const key = `${endpoint.id}|${endpoint.model}|${JSON.stringify(endpoint.options)}`;
    let connection = this.connections.get(key);
    if (connection === undefined) {
      connection = this.connect(endpoint, context);
      this.connections.set(key, connection);
    }
    return connection;
  }
}
