import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MeshError,
  ModelAuthError,
  ModelOutputInvalidError,
  ModelRequestError,
  ModelThrottledError,
  ModelTimeoutError,
  ModelUnavailableError,
} from '../../../shared/core/index.ts';
import { validatorFor } from '../../../shared/models/validatorFor.ts';
import { azureHarness, bedrockHarness, openaiHarness, request, schema, simulatedHarness, type Capability, type Harness } from './harnesses.ts';

// One specification, every provider adapter, each through its real SDK client against a
// wire-level fake: the mesh's retry and failover policy must not be able to tell them apart.

async function failure(promise: Promise<unknown>): Promise<MeshError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MeshError);
  return err as MeshError;
}

function expectNoSecret(h: Harness, err: MeshError): void {
  const seen = [err.message, JSON.stringify(err), inspect(err, { depth: 10 }), String((err as Error).cause)].join('\n');
  for (const secret of h.secrets) expect(seen).not.toContain(secret);
}

describe.each<Harness>([bedrockHarness(), openaiHarness(), azureHarness('2024-10-21'), azureHarness('v1'), simulatedHarness()])('ModelProvider contract: $name', (h) => {
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  const when = (c: Capability) => (h.can.has(c) ? it : it.skip);
  const invoke = (signal: AbortSignal = AbortSignal.timeout(10_000)) => h.provider().invoke(request(h.endpoint()), signal);

  it('answers with JSON valid against the output schema, and the tokens it used', async () => {
    h.answer({ score: 42, reasons: ['new customer'] }, { inputTokens: 321, outputTokens: 17 });

    const response = await invoke();

    expect(validatorFor(schema)(response.output)).toEqual([]);
    expect(response.usage.inputTokens).toBeGreaterThan(0);
    expect(response.usage.outputTokens).toBeGreaterThan(0);
    expect(response.latencyMs).toBeGreaterThanOrEqual(0);
    if (h.can.has('scripted-answers')) {
      expect(response.output).toEqual({ score: 42, reasons: ['new customer'] });
      expect(response.usage).toEqual({ inputTokens: 321, outputTokens: 17 });
      expect(h.calls()).toBe(1);
    }
  });

  when('scripted-answers')("sends the route's output schema to the provider's structured-output mechanism", async () => {
    h.answer({ score: 1, reasons: [] });

    await invoke();

    expect(h.sentSchema()).toEqual(schema);
  });

  when('repair')('sends the validation problems back once and returns the repaired answer, counting both calls', async () => {
    h.answer({ score: 420, reasons: ['x'] }, { inputTokens: 100, outputTokens: 10 });
    h.answer({ score: 42, reasons: ['x'] }, { inputTokens: 150, outputTokens: 12 });

    const response = await invoke();

    expect(response.output).toEqual({ score: 42, reasons: ['x'] });
    expect(response.usage).toEqual({ inputTokens: 250, outputTokens: 22 });
    expect(h.calls()).toBe(2);
    expect(h.lastBody()).toContain('/score: must be <= 100');
  });

  when('repair')('repairs an answer that is not JSON at all', async () => {
    h.prose('I would say the score is about 42.');
    h.answer({ score: 42, reasons: [] });

    const response = await invoke();

    expect(response.output).toEqual({ score: 42, reasons: [] });
    expect(h.lastBody()).toContain('does not match the required JSON schema');
  });

  when('repair')('throws ModelOutputInvalidError naming the problems when the repaired answer is still invalid, after two calls only', async () => {
    h.answer({ score: 420, reasons: [] });
    h.answer({ score: -1 });

    const err = await failure(invoke());

    expect(err).toBeInstanceOf(ModelOutputInvalidError);
    expect(err.retryable).toBe(true);
    expect((err as ModelOutputInvalidError).problems).toEqual(expect.arrayContaining(['/: must have required property \'reasons\'', '/score: must be >= 0']));
    expect(h.calls()).toBe(2);
  });

  it('turns throttling into a retryable ModelThrottledError carrying the Retry-After hint, with no retry of its own', async () => {
    h.throttle(2);

    const err = await failure(invoke());

    expect(err).toBeInstanceOf(ModelThrottledError);
    expect(err.retryable).toBe(true);
    expect((err as ModelThrottledError).retryAfterMs).toBe(2000);
    if (h.can.has('scripted-answers')) expect(h.calls()).toBe(1);
    expectNoSecret(h, err);
  });

  it('turns a 5xx into a retryable ModelUnavailableError, with no retry of its own', async () => {
    h.unavailable();

    const err = await failure(invoke());

    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect(err.retryable).toBe(true);
    if (h.can.has('scripted-answers')) expect(h.calls()).toBe(1);
    expectNoSecret(h, err);
  });

  when('rejects')('turns a rejected request (400) into a non-retryable ModelRequestError', async () => {
    h.reject();

    const err = await failure(invoke());

    expect(err).toBeInstanceOf(ModelRequestError);
    expect(err.retryable).toBe(false);
    expect(err.context).toMatchObject({ endpoint: h.endpoint().id, routeId: 'order-risk', eventId: 'evt-1' });
    expectNoSecret(h, err);
  });

  when('auth')('turns a refused identity into ModelAuthError without the credentials the server echoed', async () => {
    h.denyAuth();

    const err = await failure(invoke());

    expect(err).toBeInstanceOf(ModelAuthError);
    expect(err.retryable).toBe(false);
    expectNoSecret(h, err);
  });

  it('gives up with ModelTimeoutError as soon as the per-call signal aborts', async () => {
    h.hang(5_000);
    const started = performance.now();

    const err = await failure(invoke(AbortSignal.timeout(150)));

    expect(err).toBeInstanceOf(ModelTimeoutError);
    expect(err.retryable).toBe(true);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  when('content-filter')('turns a content-filter verdict into a non-retryable ModelRequestError that says so', async () => {
    h.contentFilter();

    const err = await failure(invoke());

    expect(err).toBeInstanceOf(ModelRequestError);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/blocked/);
    expect(err.message).toMatch(/content filter|guardrail/);
  });
});
