/*
 * The Chat Completions dialect, shared by OpenAI, Azure OpenAI and OpenAI-compatible
 * servers (Ollama, vLLM, llama.cpp): how a ModelRequest becomes a request body and how the
 * answer comes back as a Turn. Structured output is `response_format: json_schema`.
 */
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { ModelRequestError, type ErrorContext } from '../../core/errors.ts';
import { redact } from '../redact.ts';
import type { ModelRequest } from '../../core/ports/ModelProvider.ts';
import { parseJsonAnswer, repairInstruction, type Repair, type Turn } from '../structured.ts';

/** What the repair call needs of a previous answer: the assistant's text as it was. */
export interface ChatState {
  content: string;
}

/**
 * Which body field carries the token limit: OpenAI's current `max_completion_tokens` (which
 * reasoning models require), or the older `max_tokens` that OpenAI-compatible servers read.
 */
export type TokenLimitField = 'max_completion_tokens' | 'max_tokens';

export interface ChatSettings {
  /** The `model` field: the model id, or the deployment name on Azure. */
  model: string;
  tokenLimit: TokenLimitField;
  /** Strict structured outputs; undefined: strict when the schema allows it. */
  strict?: boolean;
}

/**
 * The request body: system prompt as the first message, the route's output schema as
 * `response_format.json_schema`. With a repair, the previous answer and the problems follow.
 */
export function chatBody(request: ModelRequest, settings: ChatSettings, repair?: Repair<ChatState>): ChatCompletionCreateParamsNonStreaming {
  const messages: ChatCompletionMessageParam[] = [];
  if (request.system !== undefined) messages.push({ role: 'system', content: request.system });
  messages.push({ role: 'user', content: request.prompt });
  if (repair) {
    messages.push({ role: 'assistant', content: repair.previous.state.content }, { role: 'user', content: repairInstruction(repair.problems) });
  }
  return {
    model: settings.model,
    messages,
    [settings.tokenLimit]: request.maxTokens,
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    response_format: {
      type: 'json_schema',
      json_schema: { name: schemaName(request.routeId), schema: request.outputSchema, strict: settings.strict ?? strictCompatible(request.outputSchema) },
    },
  };
}

/**
 * The answer of a call. A filtered completion (Azure) or a refusal is a request error — the
 * same input gets the same verdict; an answer cut off at the token limit is unreadable.
 */
export function chatTurn(completion: ChatCompletion, request: ModelRequest, context: ErrorContext, provider: string): Turn<ChatState> {
  const usage = { inputTokens: completion.usage?.prompt_tokens ?? 0, outputTokens: completion.usage?.completion_tokens ?? 0 };
  const choice = completion.choices?.[0];
  if (choice === undefined) return { unreadable: 'the answer had no choices', usage, state: { content: '' } };
  if (choice.finish_reason === 'content_filter') {
    const categories = filteredCategories((choice as unknown as { content_filter_results?: unknown }).content_filter_results);
    throw new ModelRequestError(
      `${provider} ${request.endpoint.id}: the answer was blocked by the content filter${categories ? ` (${categories})` : ''}; retrying the same event will not help`,
      { context },
    );
  }
  if (choice.message.refusal) {
    throw new ModelRequestError(`${provider} ${request.endpoint.id}: the model refused to answer: ${redact(choice.message.refusal)}`, { context });
  }
  const content = choice.message.content ?? '';
  return { ...parseJsonAnswer(content, choice.finish_reason === 'length', request.maxTokens), usage, state: { content } };
}

/** `violence: high, hate: medium` from an Azure content_filter_result(s) object; empty when none fired. */
export function filteredCategories(results: unknown): string {
  if (results === null || typeof results !== 'object') return '';
  return Object.entries(results as Record<string, unknown>)
    .filter(([, v]) => (v as { filtered?: unknown } | null)?.filtered === true)
    .map(([k, v]) => {
      const severity = (v as { severity?: unknown }).severity;
      return typeof severity === 'string' ? `${k}: ${severity}` : k;
    })
    .join(', ');
}

/** json_schema names allow letters, digits, `_` and `-`, up to 64. */
function schemaName(routeId: string): string {
  return routeId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'answer';
}

/**
 * Strict mode refuses a schema unless every object closes `additionalProperties` and
 * requires all its properties; sending strict for any other schema would be a 400 on every
 * call. Route schemas that meet the rule get strict decoding, the others best effort.
 */
export function strictCompatible(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(strictCompatible);
  if (schema === null || typeof schema !== 'object') return true;
  const s = schema as Record<string, unknown>;
  const isObject = s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object')) || s.properties !== undefined;
  if (isObject) {
    const props = Object.keys((s.properties as Record<string, unknown> | undefined) ?? {});
    const required = new Set(Array.isArray(s.required) ? (s.required as unknown[]) : []);
    if (s.additionalProperties !== false || props.some((p) => !required.has(p))) return false;
  }
  return Object.entries(s).every(([k, v]) => k === 'enum' || k === 'const' || k === 'examples' || k === 'default' || strictCompatible(v));
}
