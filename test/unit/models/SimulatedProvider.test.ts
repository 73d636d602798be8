import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { ModelEndpoint, ModelRequest, SimulatedFaults } from '../../../shared/core/index.ts';
import { ModelThrottledError, ModelTimeoutError, ModelUnavailableError, systemClock } from '../../../shared/core/index.ts';
import { SimulatedProvider } from '../../../shared/models/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';

const OUTPUT = {
  type: 'object',
  additionalProperties: false,
  required: ['score', 'level', 'summary'],
  properties: {
    score: { type: 'integer', minimum: 0, maximum: 100 },
    level: { type: 'string', enum: ['low', 'medium', 'high'] },
    summary: { type: 'string', minLength: 1, maxLength: 120 },
  },
};
const validate = new Ajv({ strict: false }).compile(OUTPUT);

function endpoint(faults: Partial<SimulatedFaults> = {}, latency = { min: 40, max: 120 }): ModelEndpoint {
  return {
    id: 'sim-eu',
    provider: 'simulated',
    cloud: 'aws',
    region: 'eu-central-1',
    scope: 'region',
    model: 'sim',
    price: { input: 0, output: 0 },
    capabilities: [],
    options: {},
    simulated: { latencyMs: latency, faults: { throttle: 0, error: 0, timeout: 0, malformed: 0, ...faults }, retryAfterMs: 750 },
  };
}

function request(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    endpoint: endpoint(),
    system: 'You score orders for fraud.',
    prompt: 'Score order 1234: shipping to Lisbon, billing in Oslo, first order of a new account.',
    outputSchema: OUTPUT,
    maxTokens: 400,
    routeId: 'order-risk',
    eventId: 'evt-1',
    attempt: 1,
    ...overrides,
  };
}

const never = () => new AbortController().signal;

describe('SimulatedProvider', () => {
  it('answers valid output with estimated usage and the drawn latency, slept on the injected clock', async () => {
    const clock = new FakeClock();
    const provider = new SimulatedProvider({ seed: 42, clock });

    const res = await provider.invoke(request(), never());

    expect(validate(res.output)).toBe(true);
    expect(clock.sleeps).toEqual([res.latencyMs]);
    expect(res.latencyMs).toBeGreaterThanOrEqual(40);
    expect(res.latencyMs).toBeLessThanOrEqual(120);
    const inputChars = 'You score orders for fraud.'.length + request().prompt.length;
    expect(res.usage.inputTokens).toBe(Math.ceil(inputChars / 4));
    expect(res.usage.outputTokens).toBe(Math.ceil(JSON.stringify(res.output).length / 4));
  });

  it('caps output tokens at maxTokens', async () => {
    const res = await new SimulatedProvider({ seed: 42, clock: new FakeClock() }).invoke(request({ maxTokens: 3 }), never());
    expect(res.usage.outputTokens).toBe(3);
  });

  it('replays exactly for the same seed and differs for another seed', async () => {
    const run = (seed: number) => new SimulatedProvider({ seed, clock: new FakeClock() }).invoke(request(), never());
    expect(await run(42)).toEqual(await run(42));
    expect(await run(7)).not.toEqual(await run(42));
  });

  it('gives the same answer on every attempt at an event, as a temperature-0 model would', async () => {
    const provider = new SimulatedProvider({ seed: 42, clock: new FakeClock() });
    const first = await provider.invoke(request({ attempt: 1 }), never());
    const third = await provider.invoke(request({ attempt: 3 }), never());
    const otherEvent = await provider.invoke(request({ eventId: 'evt-2' }), never());
    expect(third.output).toEqual(first.output);
    expect(otherEvent.output).not.toEqual(first.output);
  });

  it('draws faults afresh per attempt, so a throttled first attempt can succeed on retry', async () => {
    const provider = new SimulatedProvider({ seed: 42, clock: new FakeClock() });
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        provider.invoke(request({ endpoint: endpoint({ throttle: 0.5 }), eventId: `evt-${i}`, attempt: 1 }), never()).then(
          () => 'ok',
          () => 'throttled',
        ),
      ),
    );
    const firstThrottled = outcomes.indexOf('throttled');
    expect(firstThrottled).toBeGreaterThanOrEqual(0);
    const retries = await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) =>
        provider.invoke(request({ endpoint: endpoint({ throttle: 0.5 }), eventId: `evt-${firstThrottled}`, attempt }), never()).then(() => 'ok', () => 'throttled'),
      ),
    );
    expect(retries[0]).toBe('throttled');
    expect(retries).toContain('ok');
  });

  it('throws ModelThrottledError with the configured retryAfterMs and the call context', async () => {
    const err = await new SimulatedProvider({ seed: 1, clock: new FakeClock() }).invoke(request({ endpoint: endpoint({ throttle: 1 }) }), never()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelThrottledError);
    expect((err as ModelThrottledError).retryAfterMs).toBe(750);
    expect((err as ModelThrottledError).context).toEqual({ endpoint: 'sim-eu', routeId: 'order-risk', eventId: 'evt-1' });
  });

  it('throws ModelUnavailableError (a simulated 503) for the error fault', async () => {
    const err = await new SimulatedProvider({ seed: 1, clock: new FakeClock() }).invoke(request({ endpoint: endpoint({ error: 1 }) }), never()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect((err as ModelUnavailableError).message).toContain('503');
    expect((err as ModelUnavailableError).context).toMatchObject({ endpoint: 'sim-eu', routeId: 'order-risk', eventId: 'evt-1' });
  });

  it('hangs on the timeout fault until the signal aborts, then throws ModelTimeoutError', async () => {
    const controller = new AbortController();
    let settled = false;
    const call = new SimulatedProvider({ seed: 1, clock: new FakeClock() }).invoke(request({ endpoint: endpoint({ timeout: 1 }) }), controller.signal);
    call.then(() => (settled = true), () => (settled = true));

    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(false);
    controller.abort(new Error('budget spent'));

    await expect(call).rejects.toBeInstanceOf(ModelTimeoutError);
    await expect(call).rejects.toMatchObject({ context: { endpoint: 'sim-eu', routeId: 'order-risk', eventId: 'evt-1' } });
  });

  it('throws ModelTimeoutError at once when the signal is already aborted', async () => {
    const signal = AbortSignal.abort();
    const provider = new SimulatedProvider({ seed: 1, clock: new FakeClock() });
    await expect(provider.invoke(request({ endpoint: endpoint({ timeout: 1 }) }), signal)).rejects.toBeInstanceOf(ModelTimeoutError);
    await expect(provider.invoke(request(), signal)).rejects.toBeInstanceOf(ModelTimeoutError);
  });

  it('gives up its latency sleep when the signal aborts, with ModelTimeoutError', async () => {
    const controller = new AbortController();
    const provider = new SimulatedProvider({ seed: 1, clock: systemClock });
    const call = provider.invoke(request({ endpoint: endpoint({}, { min: 60_000, max: 60_000 }) }), controller.signal);
    setTimeout(() => controller.abort(), 10);
    await expect(call).rejects.toBeInstanceOf(ModelTimeoutError);
  });

  it('returns output that fails the schema for the malformed fault, both ways over many events', async () => {
    const provider = new SimulatedProvider({ seed: 3, clock: new FakeClock() });
    const outputs = await Promise.all(
      Array.from({ length: 30 }, (_, i) => provider.invoke(request({ endpoint: endpoint({ malformed: 1 }), eventId: `evt-${i}` }), never()).then((r) => r.output)),
    );
    expect(outputs.filter((o) => validate(o))).toEqual([]);
    const kinds = new Set(outputs.map((o) => (Array.isArray(o) || typeof o !== 'object' ? 'wrong-type' : 'missing-required')));
    expect(kinds).toEqual(new Set(['wrong-type', 'missing-required']));
  });

  it('honours each fault rate roughly over 2,000 calls at 0.2 each', async () => {
    const provider = new SimulatedProvider({ seed: 42, clock: new FakeClock() });
    const faulty = endpoint({ throttle: 0.2, error: 0.2, timeout: 0.2, malformed: 0.2 });
    const counts = { throttle: 0, error: 0, timeout: 0, malformed: 0, ok: 0 };
    for (let i = 0; i < 2000; i++) {
      const controller = new AbortController();
      const call = provider.invoke(request({ endpoint: faulty, eventId: `evt-${i}` }), controller.signal);
      // Only a hanging call is still pending after a macrotask (the fake clock sleeps instantly).
      setImmediate(() => controller.abort());
      const res = await call.catch((e: unknown) => e);
      if (res instanceof ModelThrottledError) counts.throttle++;
      else if (res instanceof ModelUnavailableError) counts.error++;
      else if (res instanceof ModelTimeoutError) counts.timeout++;
      else if (validate((res as { output: unknown }).output)) counts.ok++;
      else counts.malformed++;
    }
    for (const n of Object.values(counts)) {
      expect(n).toBeGreaterThan(300);
      expect(n).toBeLessThan(500);
    }
  });
});
