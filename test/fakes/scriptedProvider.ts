import type { MeshError, ModelProvider, ModelRequest, ModelResponse } from '../../shared/core/index.ts';

export type Step = { output: unknown } | { error: MeshError } | { hang: true };

/**
 * A ModelProvider port fake: answers each call from a per-endpoint script, in order
 * (the last step repeats). Records every request so tests can assert what was called.
 */
export class ScriptedProvider implements ModelProvider {
  readonly kind = 'scripted';
  readonly calls: ModelRequest[] = [];
  private readonly cursor = new Map<string, number>();

  constructor(private readonly scripts: Record<string, Step[]>) {}

  async invoke(request: ModelRequest, signal: AbortSignal): Promise<ModelResponse> {
    this.calls.push(request);
    const script = this.scripts[request.endpoint.id] ?? [];
    const i = this.cursor.get(request.endpoint.id) ?? 0;
    this.cursor.set(request.endpoint.id, i + 1);
    const step = script[Math.min(i, script.length - 1)];
    if (!step) throw new Error(`no script for endpoint ${request.endpoint.id}`);
    if ('error' in step) throw step.error;
    if ('hang' in step) {
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    return { output: step.output, usage: { inputTokens: 100, outputTokens: 20 }, latencyMs: 42 };
  }

  callsTo(endpointId: string): number {
    return this.calls.filter((c) => c.endpoint.id === endpointId).length;
  }
}
