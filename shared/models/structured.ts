/*
 * Structured output with one repair attempt, shared by the adapters that talk to real
 * models. The provider's native mechanism (json_schema response format, a forced tool)
 * makes a wrong answer rare, not impossible: models still truncate at maxTokens, skip a
 * required field or break a `maximum`. Sending the validation problems back once, in the
 * same conversation, fixes most of those for the price of one more call; a second failure
 * is a ModelOutputInvalidError, which the mesh's policy may retry or fail over.
 *
 * The repair lives here, in the adapter, rather than in the core's retry loop, because
 * only the adapter can continue the conversation in its provider's dialect (an assistant
 * message for Chat Completions, a toolResult with status error for Converse).
 */
import { ModelOutputInvalidError, type ErrorContext } from '../core/errors.ts';
import type { ModelRequest, ModelResponse, ModelUsage } from '../core/ports/ModelProvider.ts';

/** One answer of the model: parsed JSON (or why it could not be read), its usage, and what the adapter needs to continue. */
export interface Turn<T> {
  /** The parsed answer; absent when the answer could not be read as JSON. */
  output?: unknown;
  /** Why the answer could not be read (not JSON, cut off at maxTokens, no tool call). */
  unreadable?: string;
  usage: ModelUsage;
  /** Provider-specific state for the repair call (the assistant message as sent back). */
  state: T;
}

export interface Repair<T> {
  previous: Turn<T>;
  problems: string[];
}

/**
 * Ask once; when the answer is unreadable or fails validation, ask once more with the
 * problems; usage is the sum of both calls, latency the time of both.
 *
 * @example
 * return answerWithRepair(request, context, (repair) => this.call(client, request, repair, signal));
 */
export async function answerWithRepair<T>(
  request: ModelRequest,
  context: ErrorContext,
  ask: (repair: Repair<T> | undefined) => Promise<Turn<T>>,
  now: () => number = () => performance.now(),
): Promise<ModelResponse> {
  const started = now();
  // The pipeline always passes the route's own (precompiled) validator; ajv loads only for an adapter used on its own.
  const validate = request.validate ?? (await import('./validatorFor.ts')).validatorFor(request.outputSchema);
  const first = await ask(undefined);
  const firstProblems = problemsOf(first, validate);
  if (firstProblems.length === 0) return { output: first.output, usage: first.usage, latencyMs: now() - started };

  const second = await ask({ previous: first, problems: firstProblems });
  const usage = { inputTokens: first.usage.inputTokens + second.usage.inputTokens, outputTokens: first.usage.outputTokens + second.usage.outputTokens };
  const problems = problemsOf(second, validate);
  if (problems.length === 0) return { output: second.output, usage, latencyMs: now() - started };
  throw new ModelOutputInvalidError(
    `output of ${request.endpoint.id} does not match the route's output schema after one repair attempt: ${problems.join('; ')}`,
    { problems, context: { ...context, usage } },
  );
}

function problemsOf(turn: Turn<unknown>, validate: (v: unknown) => string[]): string[] {
  if (turn.unreadable !== undefined) return [turn.unreadable];
  return validate(turn.output);
}

/** The message that asks for a corrected answer. */
export function repairInstruction(problems: string[]): string {
  return [
    'Your previous answer does not match the required JSON schema:',
    ...problems.map((p) => `- ${p}`),
    'Answer again with the complete, corrected JSON object only.',
  ].join('\n');
}

/**
 * Parse a model's text answer as JSON. Tolerates a Markdown code fence around it (models
 * add one even when told not to); anything else that is not JSON is unreadable.
 */
export function parseJsonAnswer(text: string | null | undefined, cutOff: boolean, maxTokens: number): Pick<Turn<unknown>, 'output' | 'unreadable'> {
  if (cutOff) return { unreadable: `the answer was cut off at maxTokens (${maxTokens}) before it was complete` };
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return { unreadable: 'the answer was empty' };
  const unfenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/i.exec(trimmed)?.[1] ?? trimmed;
  try {
    return { output: JSON.parse(unfenced) };
  } catch (err) {
    return { unreadable: `the answer is not JSON (${(err as Error).message})` };
  }
}
