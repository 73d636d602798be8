import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseDeadLetter } from '../../shared/buses/index.ts';
import { matchesPattern } from '../../shared/rules/index.ts';
import { bedrockError, bedrockToolAnswer, startBedrockFake, type BedrockFake, type BedrockRequest, type FakeReply } from '../fakes/bedrockFake.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../fakes/dynamoDbFake.ts';
import { packageStack, type BusEvent } from '../fakes/eventBridgeRules.ts';
import { startEventBridgeFake, type EventBridgeFake } from '../fakes/eventBridgeFake.ts';
import { createHostIsolation, seededRandom, startHoldingProxy, startPutEventsFaultProxy, unitHash, type HostIsolation, type PutEventsFaultProxy } from '../fakes/faults.ts';
import { LambdaPlatform, type Invocation, type LambdaHandler, type OnFailureRecord } from '../fakes/lambdaPlatform.ts';
import { startSqsFake, type SqsFake } from '../fakes/sqsFake.ts';
import { drawChaosEvents, OUTPUT_SCHEMA, ROUTES } from './chaosRoutes.ts';

/*
 * Chaos through the Lambda edge, with the platform's delivery semantics simulated from the
 * packaged CloudFormation (test/fakes/lambdaPlatform.ts): every matching rule delivers its
 * own rendered input, each delivery is an async invoke that Lambda retries twice and then
 * sends to the on-failure queue, containers are reused and one is killed mid-publish, and
 * EventBridge sometimes delivers twice. The function's real handler module runs in each
 * container against wire fakes (Bedrock over HTTP/2, DynamoDB, PutEvents, SQS) with faults
 * injected at the wire. Then the faults stop, every dead letter is redriven (the function
 * invoked again with the record's requestPayload, as `mesh replay --source sqs:` re-runs it),
 * and the bus is checked: every event × matching route has exactly one result.
 *
 * Time is scaled where it is the platform's (Lambda's retry delays of ~1 and ~2 minutes, the
 * circuit window and cooldown in mesh.yaml: 1 minute → 100 ms) and real where it is the
 * function's own (route budgets, claim leases, the function Timeout from the template).
 */

const REPO = join(import.meta.dirname, '..', '..');
const SEED = 20260301;
const EVENTS = Number(process.env.CHAOS_EVENTS ?? 2000);
/** The last events arrive slowly, after the burst's backlog has drained. */
const TRICKLE = 100;
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const INGRESS = 'chaos-ingress';
const RESULTS = 'chaos-results';
const TABLE = 'chaos-idempotency';
const COUNTERS_TABLE = 'chaos-counters';
const ROUTE_TIMEOUT_MS = 1000;
/** The pipeline claims a route + event until twice its budget. */
const LEASE_MS = 2 * ROUTE_TIMEOUT_MS;
/** How long the stalled holder's write is held at most: past its lease, within the function's Timeout (6 s). */
const STALL_MS = LEASE_MS + 3000;
const FAULTS = { throttle: 0.2, serverError: 0.1, timeout: 0.05, malformed: 0.05, putEntryFailure: 0.1 };
const FIGURES_FILE = join(tmpdir(), 'nearmesh-chaos', 'lambda.json');

const MESH_YAML = `
models:
  - id: bedrock-us-east-1
    provider: bedrock
    region: us-east-1
    model: anthropic.claude-3-haiku-20240307-v1:0
  - id: bedrock-us-west-2
    provider: bedrock
    region: us-west-2
    model: anthropic.claude-3-haiku-20240307-v1:0
residency:
  internal: same-geography
destinations:
  results: { kind: eventbridge, bus: ${RESULTS}, region: us-east-1 }
placement:
  # Lambda's minutes scaled to 100 ms; the circuit's window and cooldown scale with them.
  circuit: { failures: 5, windowMs: 100, cooldownMs: 50 }
`;

const routeYaml = (id: string) => `
id: ${id}
match: ${JSON.stringify(ROUTES[id])}
data:
  classification: internal
  location: "aws:{{region}}"
task:
  prompt: "chaos route=${id} event={{id}}"
  output: { $ref: ../schemas/chaos.output.json }
  maxTokens: 100
  timeoutMs: ${ROUTE_TIMEOUT_MS}
  attemptsPerEndpoint: 2
emit:
  source: nearmesh.${id}
  detailType: ${id}.done
  to: [results]
`;

/** The chaos events as EventBridge delivers them; the 1% `far` ones come from a region no endpoint may serve. */
function generateEvents(n: number, random: () => number): { events: BusEvent[]; permanent: Set<string> } {
  const draws = drawChaosEvents(n, random, '2026-03-01T12:00:00Z');
  const events = draws.map(({ id, source, type, time, data, far }): BusEvent => ({
    version: '0',
    id,
    account: ACCOUNT,
    time,
    region: far ? 'ap-southeast-2' : REGION,
    resources: [],
    source,
    'detail-type': type,
    detail: data,
  }));
  return { events, permanent: new Set(draws.filter((d) => d.far).map((d) => d.id)) };
}

interface Publish {
  resultId: string;
  inputId: string;
  route: string;
  call: number;
  container?: string;
  invocation?: Invocation;
  accepted: boolean;
  at: number;
}

interface Run {
  platform: LambdaPlatform;
  events: BusEvent[];
  permanent: Set<string>;
  expected: Map<string, string[]>;
  publishes: Publish[];
  records: { body: string; record: OnFailureRecord }[];
  redrive: { eventId: string; ok: boolean; error?: string }[];
  leftInQueue: { eventId: string; errorType: string; errorMessage: string }[];
  modelCalls: BedrockRequest[];
  faultCounts: { throttle: number; serverError: number; timeout: number; malformed: number; putEntryFailure: number };
  stalled?: Invocation;
  /** The held write of the stalled holder, for the report. */
  stalledWrite: string;
  killedContainer?: string;
  killedResults: string[];
  wallMs: number;
  figures: Record<string, unknown>;
}

let dir: string;
let bedrock: BedrockFake;
let bus: EventBridgeFake;
let proxy: PutEventsFaultProxy;
let dynamo: DynamoDbFake;
let sqs: SqsFake;
let isolation: HostIsolation;
let run: Run;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const wallStart = Date.now();
  // Thousands of invocations write EMF metrics and logs to stdout; keep the test's own output readable.
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) =>
    String(chunk).startsWith('{"') ? true : (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stdout.write);
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-chaos-'));
  await mkdir(join(dir, 'routes'));
  await mkdir(join(dir, 'schemas'));
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  await writeFile(join(dir, 'schemas', 'chaos.output.json'), JSON.stringify(OUTPUT_SCHEMA));
  for (const id of Object.keys(ROUTES)) await writeFile(join(dir, 'routes', `${id}.yaml`), routeYaml(id));
  const env = { MESH_CONFIG: join(dir, 'mesh.yaml'), MESH_ROUTES_DIR: join(dir, 'routes'), MESH_EVENT_BUS: INGRESS };
  const template = await packageStack({ repo: REPO, out: join(dir, 'out'), stage: 'ci', env });
  const phases: Record<string, number> = { packagingMs: Date.now() - wallStart };
  const mark = (name: string, since: number) => (phases[name] = Date.now() - since);

  [bedrock, bus, dynamo, sqs] = await Promise.all([startBedrockFake(), startEventBridgeFake(), startDynamoDbFake(), startSqsFake()]);
  dynamo.createTable(TABLE);
  dynamo.createTable(COUNTERS_TABLE);
  const queueUrl = sqs.createQueue('chaos-failures');
  isolation = createHostIsolation();

  // ── faults at the wire ────────────────────────────────────────────────────────────
  let faultsOn = process.env.CHAOS_FAULTS !== '0';
  const faultCounts = { throttle: 0, serverError: 0, timeout: 0, malformed: 0, putEntryFailure: 0 };
  const callsPerKey = new Map<string, number>();
  /** Route + event pairs the model has answered (well) while faults were on. */
  const answered = new Set<string>();
  const nth = (key: string) => {
    const n = (callsPerKey.get(key) ?? 0) + 1;
    callsPerKey.set(key, n);
    return n;
  };
  const answer = (req: BedrockRequest): FakeReply => {
    const text = String(req.body?.messages?.[0]?.content?.[0]?.text ?? '');
    const m = /route=([a-z-]+) event="([^"]+)"/.exec(text);
    if (!m) return bedrockError(400, 'ValidationException', `the chaos fake cannot read the prompt: ${text.slice(0, 80)}`);
    const [, route, eventId] = m as unknown as [string, string, string];
    const good = bedrockToolAnswer({ label: 'ok', inputId: eventId });
    if (!faultsOn) return good;
    const answeredNow = () => (answered.add(`${route}|${eventId}`), good);
    // The fault hits this call of this route on this event, whatever order calls arrive in.
    const u = unitHash(SEED, 'model', route, eventId, nth(`${route}|${eventId}`));
    let edge = FAULTS.throttle;
    if (u < edge) return faultCounts.throttle++, bedrockError(429, 'ThrottlingException', 'Too many requests, please wait before trying again.', { 'retry-after-ms': '20', 'retry-after': '1' });
    if (u < (edge += FAULTS.serverError)) return faultCounts.serverError++, u * 1000 % 2 < 1 ? bedrockError(500, 'InternalServerException', 'internal error') : bedrockError(503, 'ServiceUnavailableException', 'service unavailable');
    if (u < (edge += FAULTS.timeout)) return faultCounts.timeout++, { ...good, delayMs: 60_000 };
    if (u < (edge += FAULTS.malformed)) return faultCounts.malformed++, bedrockToolAnswer({ label: 'maybe' });
    return answeredNow();
  };
  // The fake takes a queue of replies: one decider per call, far more than the run makes.
  for (let i = 0; i < 100; i++) bedrock.reply(...Array.from({ length: 2_000 }, () => answer));

  const publishes: Publish[] = [];
  let calls = 0;
  // One claim holder stalls past its lease: its first conditional write after the claim (the
  // renewal before publishing, or the completion after it) is held at the table's door, and
  // EventBridge delivers the same input again once the lease has run out, so another
  // invocation can take the claim over. Armed once the burst's backlog has drained, so the
  // second delivery runs when it comes.
  let trickling = false;
  const trickled = new Set<string>();
  let stalled: Invocation | undefined;
  let stalledWrite = '';
  const table = await startHoldingProxy(dynamo.url, (req) => {
    if (!faultsOn || !trickling || stalled || !req.target.endsWith('.UpdateItem')) return {};
    const invocation = sim.platform.invocationOn(isolation.hostOf(req.socket));
    // A first attempt of a first delivery of an event that arrived in the trickle.
    if (!invocation || invocation.delivery.origin !== 'rule' || invocation.attempt !== 1 || !trickled.has(invocation.delivery.eventId)) return {};
    // After its model answered, so this write leads to a publish (a renewal before it, or the
    // completion after it) rather than a lease extension during the model call.
    const { eventId } = invocation.delivery;
    const meshRoute = (invocation.delivery.payload as { meshRoute?: string }).meshRoute;
    if (!(meshRoute ? answered.has(`${meshRoute}|${eventId}`) : Object.keys(ROUTES).some((r) => answered.has(`${r}|${eventId}`)))) return {};
    stalled = invocation;
    stalledWrite = `${req.target} ${String((JSON.parse(req.body) as { UpdateExpression?: string }).UpdateExpression)} at +${Date.now() - wallStart} ms`;
    // The lease began at the claim, soon after the invocation started: the second delivery comes
    // just after it ran out, which leaves it the most time to take the claim over while the
    // holder is held (a loaded machine starts containers slowly).
    const again = sim.platform.redeliver(invocation.delivery, Math.max(0, invocation.startedAt + LEASE_MS + 200 - Date.now()));
    // Held until the second delivery's first invocation is over (it took the claim over, or
    // found it held), at most until just before the function's Timeout would end the holder:
    // then the stalled write lands on whatever it finds.
    const holdMs = Math.max(STALL_MS, sim.platform.fn.timeoutMs - (Date.now() - invocation.startedAt) - 300);
    const secondDone = (async () => {
      while (!sim.platform.invocations.some((i) => i.delivery.id === again.id && i.endedAt !== undefined)) await new Promise((r) => setTimeout(r, 20));
    })();
    return { holdMs, until: secondDone };
  });
  closers.push(() => table.close());
  let killedContainer: string | undefined;
  const killedResults: string[] = [];
  // Assigned below; the proxy only runs once the platform is sending.
  const sim = {} as { platform: LambdaPlatform };
  proxy = await startPutEventsFaultProxy(bus.url, (call) => {
    const n = ++calls;
    const container = isolation.hostOf(call.socket);
    const invocation = sim.platform.invocationOn(container);
    const mine: Publish[] = call.entries.map((e: { Detail: string }) => {
      const id = resultOf(e.Detail);
      const p: Publish = { resultId: id.resultId, inputId: id.inputId, route: id.route, call: n, ...(container ? { container } : {}), ...(invocation ? { invocation } : {}), accepted: false, at: Date.now() };
      publishes.push(p);
      return p;
    });
    const fail = new Map<number, { code: string; message: string }>();
    if (faultsOn) {
      mine.forEach((p, i) => {
        if (unitHash(SEED, 'put', p.resultId, nth(`put|${p.resultId}`)) < FAULTS.putEntryFailure) {
          faultCounts.putEntryFailure++;
          fail.set(i, { code: 'ThrottlingException', message: 'Rate exceeded' });
        }
      });
    }
    let onAccepted: (() => void) | undefined;
    // One container dies mid-batch: right after the bus accepted its result, before it could complete the claim.
    if (faultsOn && killedContainer === undefined && n >= 400 && container && invocation && fail.size === 0) {
      killedContainer = container;
      killedResults.push(...mine.map((p) => p.resultId));
      onAccepted = () => sim.platform.kill(container, 'killed mid-batch, after its PutEvents was accepted');
    }
    return {
      fail,
      accepted: () => {
        mine.forEach((p, i) => {
          if (!fail.has(i)) p.accepted = true;
        });
        onAccepted?.();
      },
    };
  });

  // ── the function's environment: the template's, with the test's endpoints ──────────
  const refs = { IdempotencyTable: TABLE, CountersTable: COUNTERS_TABLE, FailureQueue: queueUrl, 'FailureQueue.Arn': `arn:aws:sqs:${REGION}:000000000000:chaos-failures` };
  const stubs: Record<string, string> = {
    ...env,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: proxy.url,
    AWS_ENDPOINT_URL_DYNAMODB: table.url,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
    AWS_SECRET_ACCESS_KEY: 'chaos-secret',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_LAMBDA_FUNCTION_NAME: 'nearmesh-ci-onEvent',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };

  // One handler module instance per container: the module builds its mesh (SDK clients and
  // their connection pools, circuits) on first use and keeps it, as a Lambda container does.
  // Importing it under a per-container query gives each container its own instance, composed
  // exactly as the shipped handler composes it, while the modules it imports are shared
  // (they hold no per-container state, and sharing keeps them warm: a fresh module graph per
  // container made every invocation several times slower).
  const loadHandler = async (container: string): Promise<LambdaHandler> => {
    const mod = (await import(/* @vite-ignore */ `../../functions/aws/on-event.ts?container=${container}`)) as { handler: LambdaHandler };
    return mod.handler;
  };

  const platform = (sim.platform = new LambdaPlatform({
    template,
    refs,
    region: REGION,
    account: ACCOUNT,
    isolation,
    concurrency: 16,
    retryDelaysMs: [100, 200],
    duplicateRate: 0.02,
    random: seededRandom(SEED + 1),
    createHandler: loadHandler,
    onFailure: async (destination, record) => {
      if (destination !== refs['FailureQueue.Arn']) throw new Error(`unexpected on-failure destination ${destination}`);
      sqs.send(queueUrl, JSON.stringify(record));
    },
  }));
  for (const [k, v] of Object.entries({ ...platform.fn.environment, ...stubs })) if (k !== 'NODE_OPTIONS') vi.stubEnv(k, v);

  // ── the run: events arrive in PutEvents batches of 10 ──────────────────────────────
  const { events, permanent } = generateEvents(EVENTS, seededRandom(SEED));
  const progress = process.env.CHAOS_DEBUG ? setInterval(() => console.log('progress', JSON.stringify({ t: Date.now() - wallStart, ...platform.stats, initMs: platform.stats.initMs.length, calls, modelCalls: bedrock.requests.length })), 2000) : undefined;
  // A burst (most events within a second or two: a backlog behind the concurrency limit, the
  // container killed in it), then a trickle once the backlog has drained (the stalled holder).
  const runStart = Date.now();
  const burst = events.length - TRICKLE;
  for (let i = 0; i < burst; i += 10) {
    platform.put(INGRESS, events.slice(i, Math.min(burst, i + 10)));
    await new Promise((r) => setTimeout(r, 5));
  }
  while (platform.queued > 0) await new Promise((r) => setTimeout(r, 50));
  trickling = true;
  for (let i = burst; i < events.length; i += 10) {
    for (const e of events.slice(i, i + 10)) trickled.add(e.id);
    platform.put(INGRESS, events.slice(i, i + 10));
    await new Promise((r) => setTimeout(r, 400));
  }
  await platform.settled();
  clearInterval(progress);
  mark('chaosMs', runStart);
  const redriveStart = Date.now();

  // ── faults off; hours pass (leases expire, warm containers are recycled); redrive ──
  faultsOn = false;
  await new Promise((r) => setTimeout(r, LEASE_MS + 200));
  platform.retireIdle();
  const records = sqs.messages(queueUrl).map((m) => ({ body: m.body, record: JSON.parse(m.body) as OnFailureRecord }));
  const client = new SQSClient({ endpoint: sqs.url, region: REGION, credentials: { accessKeyId: 'AKIAFAKEFAKEFAKE0000', secretAccessKey: 'chaos-secret' } });
  closers.push(async () => client.destroy());
  const redrive: Run['redrive'] = [];
  // One pass over what the queue held when the redrive began: a redriven event that fails for
  // good again is written back as a new message, which this pass must not pick up again.
  const toRedrive = new Set(sqs.messages(queueUrl).map((m) => m.messageId));
  while (toRedrive.size > 0) {
    const got = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }));
    const messages = got.Messages ?? [];
    if (messages.length === 0) break;
    await Promise.all(
      messages.map(async (m) => {
        if (!toRedrive.delete(m.MessageId!)) return;
        const record = JSON.parse(m.Body!) as OnFailureRecord;
        const eventId = eventIdOf(record.requestPayload);
        const outcome = await platform.invoke(record.requestPayload, { eventId });
        redrive.push({ eventId, ok: outcome.ok, ...(outcome.ok ? {} : { error: `${outcome.errorType}: ${outcome.errorMessage}` }) });
        if (outcome.ok) await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      }),
    );
  }
  await platform.settled();
  mark('leaseWaitAndRedriveMs', redriveStart);
  const leftInQueue = sqs.messages(queueUrl).map((m) => {
    const r = JSON.parse(m.body) as OnFailureRecord;
    return { eventId: eventIdOf(r.requestPayload), errorType: r.responsePayload?.errorType, errorMessage: r.responsePayload?.errorMessage };
  });

  // ── what was expected ─────────────────────────────────────────────────────────────
  const expected = new Map<string, string[]>();
  for (const e of events) expected.set(e.id, Object.entries(ROUTES).filter(([, p]) => matchesPattern(p, e)).map(([id]) => id));

  run = { platform, events, permanent, expected, publishes, records, redrive, leftInQueue, modelCalls: bedrock.requests, faultCounts, ...(stalled ? { stalled } : {}), stalledWrite, ...(killedContainer ? { killedContainer } : {}), killedResults, wallMs: 0, figures: {} };
  run.wallMs = Date.now() - wallStart;
  run.figures = { ...figuresOf(run), ...phases };
  console.log(`lambda chaos figures\n${JSON.stringify(run.figures, null, 2)}`);
  await mkdir(join(tmpdir(), 'nearmesh-chaos'), { recursive: true });
  await writeFile(FIGURES_FILE, JSON.stringify(run.figures, null, 2));
}, 300_000);

afterAll(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  isolation?.close();
  for (const close of closers) await close().catch(() => undefined);
  await Promise.all([bedrock?.close(), bus?.close(), proxy?.close(), dynamo?.close(), sqs?.close()].map((p) => p?.catch(() => undefined)));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Which result a PutEvents entry is: its `lineage` (result id, input id, route) when the detail
 * carries one. Without it (a mesh that did not put lineage in the detail: PutEvents drops the
 * CloudEvent id), the input id the model echoed in its answer and the provenance's route stand
 * in, and the result id is that pair; the spec on input ids reports the missing lineage.
 */
function resultOf(detail: string): { resultId: string; inputId: string; route: string; answeredInputId?: string; lineage: boolean } {
  const d = JSON.parse(detail) as { result?: { inputId?: string }; provenance?: { route?: string }; lineage?: { resultId: string; inputId: string; route: string } };
  const answered = d.result?.inputId;
  if (d.lineage) return { ...d.lineage, ...(answered ? { answeredInputId: answered } : {}), lineage: true };
  const route = d.provenance?.route ?? '?';
  return { resultId: `${route}:${answered ?? '?'}`, inputId: answered ?? '?', route, ...(answered ? { answeredInputId: answered } : {}), lineage: false };
}

/** The bus event a delivery was rendered from: the payload itself, or its `event` in a rule's wrapper. */
function eventIdOf(payload: unknown): string {
  const p = payload as { id?: string; event?: { id?: string } };
  return p.event?.id ?? p.id ?? '?';
}

const accepted = (r: Run) => r.publishes.filter((p) => p.accepted);

/** Result ids accepted more than once, each with why (a crash or stall after publishing, or nothing that explains it). */
function repeatsOf(r: Run) {
  const byId = new Map<string, Publish[]>();
  for (const p of accepted(r)) byId.set(p.resultId, [...(byId.get(p.resultId) ?? []), p]);
  return [...byId.entries()]
    .filter(([, ps]) => ps.length > 1)
    .map(([resultId, ps]) => {
      // An earlier copy whose sender never completed its claim: killed (or timed out) after the
      // bus accepted it, or the stalled call that outlived its lease.
      const cause =
        ps.some((p) => p.invocation && p.invocation === r.stalled) ? 'stalled between publish and claim completion, past its lease'
        : ps.some((p) => p.invocation?.result && !p.invocation.result.ok && p.invocation.result.kind !== 'threw') ? 'killed between publish and claim completion'
        : undefined;
      return { resultId, inputId: ps[0]!.inputId, route: ps[0]!.route, copies: ps.length, cause, ps };
    });
}

function describePublish(p: Publish): string {
  const inv = p.invocation;
  const outcome = !inv?.result ? 'unknown' : inv.result.ok ? 'returned' : `${inv.result.kind} ${inv.result.errorType}: ${inv.result.errorMessage.slice(0, 160)}`;
  return `PutEvents call ${p.call} from ${p.container ?? 'an unknown host'} (request ${inv?.requestId ?? '?'}, attempt ${inv?.attempt ?? '?'}, ${inv?.delivery.origin ?? '?'} delivery of rule ${inv?.delivery.rule ?? '?'}); that invocation ${outcome}`;
}

function historyText(r: Run, eventId: string): string {
  return r.platform
    .historyOf(eventId)
    .map((e) => `  +${e.t}ms ${e.what}${e.rule ? ` rule=${e.rule}` : ''}${e.container ? ` ${e.container}` : ''}${e.attempt ? ` attempt ${e.attempt}` : ''}${e.requestId ? ` req ${e.requestId.slice(0, 8)}` : ''}${e.detail ? ` — ${e.detail.slice(0, 220)}` : ''}`)
    .join('\n');
}

function percentile(invocations: Invocation[], q: number): number | null {
  const ms = invocations.filter((i) => i.endedAt !== undefined).map((i) => i.endedAt! - i.startedAt).sort((a, b) => a - b);
  return ms.length ? ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]! : null;
}

function figuresOf(r: Run): Record<string, unknown> {
  const distinct = new Set(accepted(r).map((p) => p.resultId));
  const repeats = repeatsOf(r);
  const s = r.platform.stats;
  const pairs = [...r.expected.entries()].filter(([id]) => !r.permanent.has(id)).reduce((n, [, routes]) => n + routes.length, 0);
  return {
    events: r.events.length,
    eventsNoEndpointMayServe: r.permanent.size,
    expectedResults: pairs,
    rules: r.platform.rules.map((x) => x.name),
    ruleTargetInput: [...new Set(r.platform.rules.flatMap((x) => x.targets.map((t) => (t.inputTransformer ? `InputTransformer ${t.inputTransformer.InputTemplate}` : t.input ? 'Input' : t.inputPath ? 'InputPath' : 'the whole event'))))],
    functionTimeoutMs: r.platform.fn.timeoutMs,
    maximumRetryAttempts: r.platform.fn.maximumRetryAttempts,
    deliveries: s.deliveries,
    duplicateDeliveries: s.duplicateDeliveries,
    invocations: s.invocations,
    thrownInvocations: s.threw,
    timedOutInvocations: s.timeouts,
    killedInvocations: s.killed,
    containersStarted: s.containersStarted,
    containerInitMsMax: Math.max(0, ...s.initMs),
    socketsCut: isolation.cut,
    onFailureRecordsByLambda: s.onFailureRecords,
    messagesInFailureQueueBeforeRedrive: r.records.length,
    redriven: r.redrive.length,
    redriveSucceeded: r.redrive.filter((x) => x.ok).length,
    leftInFailureQueue: r.leftInQueue.length,
    faultsInjected: r.faultCounts,
    modelCalls: r.modelCalls.length,
    distinctResults: distinct.size,
    modelCallsPerResult: distinct.size ? Number((r.modelCalls.length / distinct.size).toFixed(2)) : null,
    putEventsCalls: new Set(r.publishes.map((p) => p.call)).size,
    resultEntriesAccepted: accepted(r).length,
    repeats: repeats.length,
    repeatsByCause: Object.fromEntries([...new Set(repeats.map((x) => x.cause ?? 'unexplained'))].map((c) => [c, repeats.filter((x) => (x.cause ?? 'unexplained') === c).length])),
    stalledHolder: r.stalled
      ? {
          heldWrite: r.stalledWrite,
          holder: r.stalled.result?.ok ? 'returned' : `${r.stalled.result?.kind} ${r.stalled.result && !r.stalled.result.ok ? r.stalled.result.errorType : ''}`,
          publishedBy: accepted(r)
            .filter((p) => p.inputId === r.stalled!.delivery.eventId)
            .map((p) => (p.invocation === r.stalled ? 'the stalled holder' : `${p.invocation?.delivery.origin ?? '?'} delivery, attempt ${p.invocation?.attempt ?? '?'}`)),
        }
      : null,
    invocationMsP50: percentile(r.platform.invocations, 0.5),
    invocationMsP95: percentile(r.platform.invocations, 0.95),
    wallMs: r.wallMs,
  };
}

describe('the Lambda edge under chaos, delivered as EventBridge and Lambda deliver', () => {
  it('renders a delivery per matching rule from the packaged stack', () => {
    const multi = run.events.find((e) => (run.expected.get(e.id) ?? []).length >= 3)!;
    const delivered = run.platform.timeline.filter((t) => t.what === 'delivered' && t.eventId === multi.id && !t.detail);
    expect(new Set(delivered.map((d) => d.rule))).toEqual(new Set(run.expected.get(multi.id)!.map((id) => `nearmesh-ci-${id}`)));
  });

  it('publishes exactly one result for every event × matching route, carrying its input id — none lost, none extra', () => {
    const results = new Map<string, Set<string>>();
    const wrong: string[] = [];
    for (const e of bus.accepted.filter((x) => x.EventBusName === RESULTS)) {
      const d = resultOf(e.Detail);
      if (!d.lineage) wrong.push(`a result of route ${d.route} (answering ${d.inputId}) carries no lineage: nothing on the bus says which input or result it is`);
      else if (d.answeredInputId !== d.inputId) wrong.push(`result ${d.resultId} answers ${d.answeredInputId} but says input ${d.inputId}`);
      const key = `${d.inputId}|${d.route}`;
      results.set(key, (results.get(key) ?? new Set()).add(d.resultId));
    }
    const lost: string[] = [];
    const extra: string[] = [];
    for (const [eventId, routes] of run.expected) {
      for (const route of routes) {
        const ids = results.get(`${eventId}|${route}`);
        if (run.permanent.has(eventId)) {
          if (ids) extra.push(`event ${eventId} route ${route}: ${ids.size} result(s) although no endpoint may serve it`);
        } else if (!ids) lost.push(`event ${eventId} route ${route}: no result\n${historyText(run, eventId)}`);
        else if (ids.size !== 1) extra.push(`event ${eventId} route ${route}: ${ids.size} different result ids`);
        results.delete(`${eventId}|${route}`);
      }
    }
    for (const key of results.keys()) extra.push(`${key}: a result for a route the event does not match`);

    expect(wrong.slice(0, 5), `${wrong.length} results that do not say, or misstate, their input`).toEqual([]);
    expect(extra).toEqual([]);
    expect(lost.slice(0, 5), `${lost.length} of ${run.figures.expectedResults} results lost; the first ones`).toEqual([]);
  });

  it('publishes a result id twice only after a crash or stall between its publish and claim completion', () => {
    const unexplained = repeatsOf(run)
      .filter((x) => x.cause === undefined)
      .map((x) => `result ${x.resultId} (event ${x.inputId}, route ${x.route}) accepted ${x.copies} times:\n${x.ps.map((p) => `  ${describePublish(p)}`).join('\n')}\n${historyText(run, x.inputId)}`);
    expect(unexplained.slice(0, 5), `${unexplained.length} unexplained repeats; the first ones`).toEqual([]);
  });

  it('exercised the faults it promises: a stalled claim holder taken over, a container killed after publishing', () => {
    expect(run.stalled, 'no claim holder was stalled').toBeDefined();
    // Taken over: an invocation that began while the holder was stalled published the result.
    const stalled = run.stalled!;
    const ofEvent = accepted(run).filter((p) => p.inputId === stalled.delivery.eventId);
    const byOthers = ofEvent.filter((p) => p.invocation && p.invocation !== stalled && p.invocation.startedAt < (stalled.endedAt ?? Infinity));
    expect(
      byOthers.length,
      `nobody took the stalled claim over (request ${stalled.requestId} on ${stalled.container}, held: ${run.stalledWrite}):\n${ofEvent.map((p) => `  ${describePublish(p)}`).join('\n')}\n${historyText(run, stalled.delivery.eventId)}`,
    ).toBeGreaterThanOrEqual(1);
    expect(run.killedContainer, 'no container was killed').toBeDefined();
    // The explanations of repeats rest on knowing which invocation sent each copy: none may be
    // traced to the wrong event. (A socket's host is learnt from its ports when it connects;
    // under heavy load one publish in a run has now and then arrived unattributed — right after
    // the kill, twice — so unknown hosts are bounded rather than forbidden.)
    const repeated = new Set(repeatsOf(run).map((x) => x.resultId));
    const misattributed = accepted(run).filter((p) => repeated.has(p.resultId) && p.invocation !== undefined && p.invocation.delivery.eventId !== p.inputId);
    const unattributed = accepted(run).filter((p) => !p.invocation).length;
    expect(unattributed, 'publishes whose host is unknown (a harness blind spot, not a product failure)').toBeLessThanOrEqual(3);
    expect(misattributed.slice(0, 5).map(describePublish), `${misattributed.length} results not traced to the invocation of their event`).toEqual([]);
    expect(run.platform.stats.killed).toBeGreaterThanOrEqual(1);
    expect(run.faultCounts.throttle).toBeGreaterThan(0);
    expect(run.faultCounts.putEntryFailure).toBeGreaterThan(0);
  });

  it('leaves in the failure queue, after the redrive, only events no endpoint may serve — each kept with its reason', () => {
    const left = run.leftInQueue.filter((x) => !run.permanent.has(x.eventId));
    expect(left.slice(0, 5).map((x) => `${x.eventId}: ${x.errorType}: ${x.errorMessage}\n${historyText(run, x.eventId)}`), `${left.length} retryable failures left after the redrive`).toEqual([]);
    const keptPermanent = new Set(run.leftInQueue.filter((x) => run.permanent.has(x.eventId)).map((x) => x.eventId));
    const routed = [...run.permanent].filter((id) => (run.expected.get(id) ?? []).length > 0);
    expect(routed.filter((id) => !keptPermanent.has(id))).toEqual([]);
  });

  it('writes failure records that the sqs dead-letter reader (mesh failed/replay --source sqs:) can read', () => {
    const unreadable: string[] = [];
    for (const { body, record } of run.records) {
      try {
        const letter = parseDeadLetter(body);
        if (letter.envelope.event.id !== eventIdOf(record.requestPayload)) unreadable.push(`reads event ${letter.envelope.event.id} from a record of ${eventIdOf(record.requestPayload)}`);
      } catch (err) {
        unreadable.push(`${eventIdOf(record.requestPayload)}: ${(err as Error).message}`);
      }
    }
    expect(unreadable.slice(0, 5), `${unreadable.length} of ${run.records.length} records unreadable`).toEqual([]);
  });

  it('calls no model for an event no endpoint may serve, and does not retry it', () => {
    const calls = run.modelCalls.filter((r) => [...run.permanent].some((id) => JSON.stringify(r.body?.messages?.[0] ?? '').includes(id)));
    expect(calls).toHaveLength(0);
    const invocations = run.platform.invocations.filter((i) => run.permanent.has(i.delivery.eventId) && i.delivery.origin === 'rule');
    const retried = invocations.filter((i) => i.attempt > 1);
    expect(retried.map((i) => `${i.delivery.eventId} rule ${i.delivery.rule} attempt ${i.attempt}: ${i.result && !i.result.ok ? i.result.errorType : 'ok'}`).slice(0, 5), `${retried.length} Lambda retries of permanent failures`).toEqual([]);
  });
});
