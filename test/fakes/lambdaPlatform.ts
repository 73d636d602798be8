import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { renderTargetInput, ruleMatches, rulesOf, type BusEvent, type BusRule, type CfnTemplate, type CfnValue, type RuleTarget } from './eventBridgeRules.ts';
import type { HostIsolation } from './faults.ts';

/*
 * EventBridge → Lambda (asynchronous invocation) as the platform behaves, for chaos tests of
 * the Lambda edge. Everything the platform decides comes from the packaged CloudFormation:
 * the rules and their targets' input (see eventBridgeRules.ts), the function's Timeout and
 * environment, MaximumRetryAttempts and the on-failure destination of its EventInvokeConfig.
 *
 * - Each matching rule's target is a separate delivery, and each delivery an asynchronous
 *   invoke. EventBridge delivers at least once: `duplicateRate` delivers some twice.
 * - An invoke runs in a container (one invocation at a time, reused while warm, at most
 *   `concurrency` of them). A container is created by `createHandler`, so it has its own
 *   module state (the handler caches its mesh per container).
 * - A failed invoke (thrown error, Timeout, or the container killed) is retried up to
 *   MaximumRetryAttempts times, after Lambda's ~1 and ~2 minutes scaled to `retryDelaysMs`;
 *   then the on-failure record goes to the destination, shaped as Lambda writes it. Retries
 *   keep the async invocation's request id, as Lambda's do.
 * - A timeout resets the container (Lambda shuts the runtime down); `kill` does the same at
 *   any moment: the invocation fails with Runtime.ExitError and, through HostIsolation, every
 *   socket of that container is cut, so it cannot finish any I/O it had started.
 */

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface LambdaFunctionSpec {
  logicalId: string;
  name: string;
  arn: string;
  timeoutMs: number;
  /** The function's environment, CloudFormation references resolved. */
  environment: Record<string, string>;
  maximumRetryAttempts: number;
  /** The on-failure destination's ARN, resolved. */
  onFailure?: string;
}

/** The record Lambda sends to an on-failure destination of an asynchronous invocation. */
export interface OnFailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetriesExhausted'; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: 200; executedVersion: '$LATEST'; functionError: 'Unhandled' };
  responsePayload: { errorType: string; errorMessage: string; trace: string[] };
}

/** What one invoke did. */
export type InvokeResult = { ok: true; value: unknown } | { ok: false; kind: 'threw' | 'timeout' | 'killed'; errorType: string; errorMessage: string; trace: string[] };

export interface Delivery {
  id: string;
  rule: string;
  target: string;
  /** The bus event it was rendered from. */
  eventId: string;
  payload: unknown;
  /** 'rule' for a first delivery, 'duplicate' for EventBridge delivering it again, 'redrive' for a hand re-run. */
  origin: 'rule' | 'duplicate' | 'redrive';
}

export interface Invocation {
  requestId: string;
  delivery: Delivery;
  attempt: number;
  container: string;
  startedAt: number;
  endedAt?: number;
  result?: InvokeResult;
}

export interface TimelineEntry {
  t: number;
  what: 'delivered' | 'invoke' | 'ok' | 'threw' | 'timeout' | 'killed' | 'on-failure' | 'container-started' | 'container-gone';
  container?: string;
  deliveryId?: string;
  eventId?: string;
  rule?: string;
  requestId?: string;
  attempt?: number;
  detail?: string;
}

export interface LambdaPlatformOptions {
  template: CfnTemplate;
  /** Values of the template's Ref / Fn::GetAtt the simulation needs (`IdempotencyTable`, `FailureQueue.Arn`, …). */
  refs: Record<string, string>;
  region: string;
  account: string;
  /**
   * A fresh handler per container (its own module state: the mesh it builds once and keeps).
   * This is the container's init phase: like Lambda's, it does not count against the Timeout.
   */
  createHandler: (container: string) => Promise<LambdaHandler>;
  isolation: HostIsolation;
  /** Where on-failure records go, by destination ARN. */
  onFailure: (destination: string, record: OnFailureRecord) => Promise<void>;
  /** Concurrent executions at most. Default 16. */
  concurrency?: number;
  /** Lambda waits ~1 min then ~2 min between attempts; scaled. Default [100, 200]. */
  retryDelaysMs?: number[];
  /** Share of deliveries EventBridge makes twice. Default 0. */
  duplicateRate?: number;
  /** The second delivery comes this long after the first, uniformly. Default [0, 300]. */
  duplicateDelayMs?: [number, number];
  random?: () => number;
}

interface Container {
  id: string;
  handler: LambdaHandler;
  dead: boolean;
  current?: Invocation;
  kill?: (result: InvokeResult) => void;
}

/** The platform's counters. */
export interface PlatformStats {
  events: number;
  deliveries: number;
  duplicateDeliveries: number;
  invocations: number;
  threw: number;
  timeouts: number;
  killed: number;
  onFailureRecords: number;
  containersStarted: number;
  /** How long each container's init took (not counted against the Timeout). */
  initMs: number[];
}

/** Build the function's spec from the packaged template (one function expected). */
export function functionOf(template: CfnTemplate, refs: Record<string, string>, where: { region: string; account: string }): LambdaFunctionSpec {
  const fns = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  if (fns.length !== 1) throw new Error(`the simulation runs one function; the template has ${fns.length}`);
  const [logicalId, fn] = fns[0]!;
  const p = fn.Properties ?? {};
  const name = String(p.FunctionName ?? logicalId);
  const vars = ((p.Environment as { Variables?: Record<string, CfnValue> } | undefined)?.Variables ?? {}) as Record<string, CfnValue>;
  const environment = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(resolve(v, refs))]));
  const conf = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::EventInvokeConfig')?.Properties ?? {};
  const onFailure = (conf.DestinationConfig as { OnFailure?: { Destination?: CfnValue } } | undefined)?.OnFailure?.Destination;
  return {
    logicalId,
    name,
    arn: `arn:aws:lambda:${where.region}:${where.account}:function:${name}`,
    // Lambda's default timeout is 3 s.
    timeoutMs: Number(p.Timeout ?? 3) * 1000,
    environment,
    // Lambda's default for asynchronous invocations is 2.
    maximumRetryAttempts: conf.MaximumRetryAttempts === undefined ? 2 : Number(conf.MaximumRetryAttempts),
    ...(onFailure === undefined ? {} : { onFailure: String(resolve(onFailure, refs)) }),
  };
}

/** Resolve `Ref` and `Fn::GetAtt` from `refs`; anything else must already be a plain value. */
export function resolve(value: CfnValue, refs: Record<string, string>): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') {
      const r = refs[v.Ref];
      if (r === undefined) throw new Error(`the simulation needs a value for Ref ${v.Ref}`);
      return r;
    }
    if (Array.isArray(v['Fn::GetAtt'])) {
      const key = (v['Fn::GetAtt'] as string[]).join('.');
      const r = refs[key];
      if (r === undefined) throw new Error(`the simulation needs a value for Fn::GetAtt ${key}`);
      return r;
    }
    throw new Error(`the simulation cannot resolve ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * EventBridge rules of the packaged stack in front of the packaged function.
 *
 * @example
 * const platform = new LambdaPlatform({ template, refs, region: 'us-east-1', account: '123456789012', createHandler, isolation, onFailure });
 * platform.put('chaos-ingress', events);
 * await platform.settled();
 */
export class LambdaPlatform {
  readonly fn: LambdaFunctionSpec;
  readonly rules: BusRule[];
  readonly timeline: TimelineEntry[] = [];
  readonly invocations: Invocation[] = [];
  readonly stats: PlatformStats = { events: 0, deliveries: 0, duplicateDeliveries: 0, invocations: 0, threw: 0, timeouts: 0, killed: 0, onFailureRecords: 0, containersStarted: 0, initMs: [] };
  private readonly started = Date.now();
  private readonly containers = new Map<string, Container>();
  private readonly idle: Container[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly random: () => number;
  private live = 0;
  private nextContainer = 1;
  private pending = 0;
  private settledWaiters: (() => void)[] = [];

  constructor(private readonly opts: LambdaPlatformOptions) {
    this.fn = functionOf(opts.template, opts.refs, opts);
    this.rules = rulesOf(opts.template, opts);
    this.random = opts.random ?? Math.random;
    for (const rule of this.rules) {
      for (const target of rule.targets) {
        const arn = target.arn as { 'Fn::GetAtt'?: string[] };
        if (!arn['Fn::GetAtt'] || arn['Fn::GetAtt'][0] !== this.fn.logicalId) {
          throw new Error(`rule ${rule.name} target ${target.id} is not the function ${this.fn.logicalId}; the simulation runs only that one`);
        }
      }
    }
  }

  /** Put events on a bus: every enabled rule of that bus whose pattern matches delivers to each of its targets. */
  put(bus: string, events: BusEvent[]): Delivery[] {
    const out: Delivery[] = [];
    const ingestion = new Date().toISOString();
    for (const event of events) {
      this.stats.events++;
      for (const rule of this.rules) {
        if (!ruleMatches(rule, bus, event)) continue;
        for (const target of rule.targets) out.push(this.deliver(rule, target, event, ingestion));
      }
    }
    return out;
  }

  /** EventBridge delivering the same rendered input again (at-least-once). */
  redeliver(delivery: Delivery, afterMs = 0): Delivery {
    this.stats.duplicateDeliveries++;
    const again: Delivery = { ...delivery, id: randomUUID(), origin: 'duplicate' };
    this.pending++;
    setTimeout(() => {
      this.log({ what: 'delivered', deliveryId: again.id, eventId: again.eventId, rule: again.rule, detail: `duplicate of ${delivery.id}` });
      void this.asyncInvoke(again).finally(() => this.done());
    }, afterMs);
    return again;
  }

  /**
   * Invoke synchronously (RequestResponse): no Lambda retries, no on-failure record. What a
   * redrive of a dead letter by hand does with the record's requestPayload.
   */
  async invoke(payload: unknown, label: { eventId: string; rule?: string }): Promise<InvokeResult> {
    const delivery: Delivery = { id: randomUUID(), rule: label.rule ?? '(redrive)', target: '(redrive)', eventId: label.eventId, payload, origin: 'redrive' };
    return (await this.invokeOnce(delivery, randomUUID(), 1)).result!;
  }

  /** Kill a container now: its invocation fails with Runtime.ExitError, its I/O stops, it is discarded. */
  kill(container: string, why = 'killed'): void {
    const c = this.containers.get(container);
    if (!c || c.dead) return;
    c.dead = true;
    this.opts.isolation.kill(container);
    this.containers.delete(container);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    this.live--;
    this.log({ what: 'container-gone', container, detail: why });
    c.kill?.({
      ok: false,
      kind: why === 'timeout' ? 'timeout' : 'killed',
      errorType: why === 'timeout' ? 'Sandbox.Timedout' : 'Runtime.ExitError',
      errorMessage:
        why === 'timeout'
          ? `RequestId: ${c.current?.requestId} Error: Task timed out after ${(this.fn.timeoutMs / 1000).toFixed(2)} seconds`
          : `RequestId: ${c.current?.requestId} Error: Runtime exited with error: signal: killed`,
      trace: [],
    });
    this.wake();
  }

  /** Invokes waiting for a free execution environment (the concurrency limit is reached). */
  get queued(): number {
    return this.waiters.length;
  }

  /** The invocation a container is running now (a server reads the container from the socket). */
  invocationOn(container: string | undefined): Invocation | undefined {
    return container === undefined ? undefined : this.containers.get(container)?.current;
  }

  /** Discard every warm container (idle environments are recycled as time passes). */
  retireIdle(): void {
    for (const c of [...this.idle]) {
      this.idle.splice(this.idle.indexOf(c), 1);
      this.containers.delete(c.id);
      c.dead = true;
      this.live--;
      this.log({ what: 'container-gone', container: c.id, detail: 'recycled' });
    }
  }

  /** Resolves once every delivery, retry and scheduled duplicate has finished. */
  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.settledWaiters.push(r));
  }

  /** The timeline of one bus event, for a report. */
  historyOf(eventId: string): TimelineEntry[] {
    return this.timeline.filter((e) => e.eventId === eventId);
  }

  private deliver(rule: BusRule, target: RuleTarget, event: BusEvent, ingestion: string): Delivery {
    const delivery: Delivery = { id: randomUUID(), rule: rule.name, target: target.id, eventId: event.id, payload: renderTargetInput(rule, target, event, ingestion), origin: 'rule' };
    this.stats.deliveries++;
    this.pending++;
    this.log({ what: 'delivered', deliveryId: delivery.id, eventId: event.id, rule: rule.name });
    void this.asyncInvoke(delivery).finally(() => this.done());
    const rate = this.opts.duplicateRate ?? 0;
    if (rate > 0 && this.random() < rate) {
      const [lo, hi] = this.opts.duplicateDelayMs ?? [0, 300];
      this.redeliver(delivery, lo + Math.floor(this.random() * (hi - lo)));
    }
    return delivery;
  }

  private async asyncInvoke(delivery: Delivery): Promise<void> {
    const requestId = randomUUID();
    const delays = this.opts.retryDelaysMs ?? [100, 200];
    const attempts = 1 + this.fn.maximumRetryAttempts;
    let last: InvokeResult | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(delays[Math.min(attempt - 2, delays.length - 1)] ?? 0);
      last = (await this.invokeOnce(delivery, requestId, attempt)).result!;
      if (last.ok) return;
    }
    if (!last || last.ok || !this.fn.onFailure) return;
    const record: OnFailureRecord = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId, functionArn: `${this.fn.arn}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: attempts },
      requestPayload: delivery.payload,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: last.errorType, errorMessage: last.errorMessage, trace: last.trace },
    };
    this.stats.onFailureRecords++;
    this.log({ what: 'on-failure', deliveryId: delivery.id, eventId: delivery.eventId, rule: delivery.rule, requestId, detail: `${last.errorType}: ${last.errorMessage}` });
    await this.opts.onFailure(this.fn.onFailure, record);
  }

  private async invokeOnce(delivery: Delivery, requestId: string, attempt: number): Promise<Invocation> {
    const c = await this.acquire();
    const inv: Invocation = { requestId, delivery, attempt, container: c.id, startedAt: Date.now() };
    this.invocations.push(inv);
    this.stats.invocations++;
    c.current = inv;
    this.log({ what: 'invoke', container: c.id, deliveryId: delivery.id, eventId: delivery.eventId, rule: delivery.rule, requestId, attempt });
    const deadline = Date.now() + this.fn.timeoutMs;
    const context = lambdaContextFor(this.fn, requestId, deadline);
    // Lambda hands the function a fresh copy of the payload (it is JSON on the wire).
    const payload = JSON.parse(JSON.stringify(delivery.payload)) as unknown;
    const killed = new Promise<InvokeResult>((r) => (c.kill = r));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.fn.timeoutMs)));
    const run = this.opts.isolation.run(c.id, () =>
      Promise.resolve()
        .then(() => c.handler(payload, context))
        .then(
          (value): InvokeResult => ({ ok: true, value }),
          (err: unknown): InvokeResult => {
            const e = err instanceof Error ? err : new Error(String(err));
            return { ok: false, kind: 'threw', errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') };
          },
        ),
    );
    const first = await Promise.race([run, killed, timedOut]);
    clearTimeout(timer);
    let result: InvokeResult;
    if (first === 'timeout') {
      this.kill(c.id, 'timeout');
      result = await killed;
    } else result = first;
    inv.endedAt = Date.now();
    inv.result = result;
    if (!result.ok) {
      if (result.kind === 'threw') this.stats.threw++;
      else if (result.kind === 'timeout') this.stats.timeouts++;
      else this.stats.killed++;
    }
    this.log({
      what: result.ok ? 'ok' : result.kind,
      container: c.id,
      deliveryId: delivery.id,
      eventId: delivery.eventId,
      rule: delivery.rule,
      requestId,
      attempt,
      ...(result.ok ? {} : { detail: `${result.errorType}: ${result.errorMessage}` }),
    });
    c.current = undefined;
    delete c.kill;
    if (!c.dead) this.release(c);
    return inv;
  }

  private async acquire(): Promise<Container> {
    for (;;) {
      const warm = this.idle.pop();
      if (warm) return warm;
      if (this.live < (this.opts.concurrency ?? 16)) {
        this.live++;
        const id = `container-${this.nextContainer++}`;
        const initStarted = Date.now();
        let handler: LambdaHandler;
        try {
          handler = await this.opts.createHandler(id);
        } catch (err) {
          this.live--;
          this.wake();
          throw err;
        }
        this.stats.initMs.push(Date.now() - initStarted);
        const c: Container = { id, handler, dead: false };
        this.containers.set(id, c);
        this.stats.containersStarted++;
        this.log({ what: 'container-started', container: id });
        return c;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private release(c: Container): void {
    this.idle.push(c);
    this.wake();
  }

  private wake(): void {
    this.waiters.shift()?.();
  }

  private done(): void {
    if (--this.pending === 0) for (const r of this.settledWaiters.splice(0)) r();
  }

  private log(entry: Omit<TimelineEntry, 't'>): void {
    this.timeline.push({ t: Date.now() - this.started, ...entry });
  }
}

function lambdaContextFor(fn: LambdaFunctionSpec, requestId: string, deadline: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: '2026/01/01/[$LATEST]chaos',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
