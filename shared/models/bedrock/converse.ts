/*
 * The Converse dialect: how a ModelRequest becomes a ConverseCommand input and how the
 * answer comes back as a Turn. Structured output is tool use: the route's output schema is
 * the input schema of one tool, and `toolChoice` forces the model to call it, so the answer
 * arrives as the tool's arguments (already parsed JSON) rather than as prose.
 */
import type { ContentBlock, ConverseCommandInput, ConverseCommandOutput, Message, ToolInputSchema } from '@aws-sdk/client-bedrock-runtime';
import { ModelRequestError, type ErrorContext } from '../../core/errors.ts';
import type { ModelRequest } from '../../core/ports/ModelProvider.ts';
import { parseJsonAnswer, repairInstruction, type Repair, type Turn } from '../structured.ts';

/** The one tool every structured call forces. */
export const ANSWER_TOOL = 'answer';

/** What the repair call needs of a previous answer: the assistant message as it was, and the tool call to answer. */
export interface ConverseState {
  message: Message;
  toolUseId?: string;
}

/** `tool` forces the answer tool by name; `any` makes the model call some tool (for models that reject a named choice). */
export type ToolChoiceMode = 'tool' | 'any';

/**
 * The Converse input for a request: system prompt in `system`, the prompt as the first user
 * message, limits in `inferenceConfig`, the output schema as the forced tool's input schema.
 * With a repair, the previous answer and the problems (as an error tool result) follow.
 */
export function converseInput(request: ModelRequest, toolChoice: ToolChoiceMode, repair?: Repair<ConverseState>): ConverseCommandInput {
  const messages: Message[] = [{ role: 'user', content: [{ text: request.prompt }] }];
  if (repair) {
    const { message, toolUseId } = repair.previous.state;
    const instruction = repairInstruction(repair.problems);
    messages.push(message, {
      role: 'user',
      content: toolUseId === undefined ? [{ text: instruction }] : [{ toolResult: { toolUseId, status: 'error', content: [{ text: instruction }] } }],
    });
  }
  return {
    modelId: request.endpoint.model,
    ...(request.system === undefined ? {} : { system: [{ text: request.system }] }),
    messages,
    inferenceConfig: { maxTokens: request.maxTokens, ...(request.temperature === undefined ? {} : { temperature: request.temperature }) },
    toolConfig: {
      tools: [
        {
          toolSpec: {
            name: ANSWER_TOOL,
            description: 'Give your answer to the task as the input of this tool. Its input schema is the required answer format.',
            inputSchema: { json: request.outputSchema as ToolInputSchema.JsonMember['json'] },
          },
        },
      ],
      toolChoice: toolChoice === 'tool' ? { tool: { name: ANSWER_TOOL } } : { any: {} },
    },
  };
}

/**
 * The answer of a Converse call. Guardrail and content-filter stops are request errors
 * (the same input will be blocked again); a call of the answer tool is the answer; a model
 * that answered in text instead is read as JSON, since the schema check decides anyway.
 */
export function converseTurn(output: ConverseCommandOutput, request: ModelRequest, context: ErrorContext): Turn<ConverseState> {
  const usage = { inputTokens: output.usage?.inputTokens ?? 0, outputTokens: output.usage?.outputTokens ?? 0 };
  const message: Message = output.output?.message ?? { role: 'assistant', content: [] };
  const stop = output.stopReason;
  if (stop === 'guardrail_intervened' || stop === 'content_filtered') {
    throw new ModelRequestError(
      `bedrock ${request.endpoint.id}: the answer was blocked (${stop === 'guardrail_intervened' ? 'a guardrail intervened' : 'content filter'}); retrying the same event will not help`,
      { context },
    );
  }
  if (stop === 'model_context_window_exceeded') {
    throw new ModelRequestError(`bedrock ${request.endpoint.id}: the prompt exceeds the model's context window`, { context });
  }
  const content: ContentBlock[] = message.content ?? [];
  const toolUse = content.find((b) => b.toolUse !== undefined)?.toolUse;
  const cutOff = stop === 'max_tokens';
  if (toolUse !== undefined && !cutOff) {
    return { output: toolUse.input, usage, state: { message, ...(toolUse.toolUseId ? { toolUseId: toolUse.toolUseId } : {}) } };
  }
  const text = content.map((b) => b.text ?? '').join('');
  return { ...parseJsonAnswer(text, cutOff, request.maxTokens), usage, state: { message, ...(toolUse?.toolUseId ? { toolUseId: toolUse.toolUseId } : {}) } };
}
