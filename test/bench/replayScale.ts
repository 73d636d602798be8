/**
 * Replay at scale: `mesh replay --source sqs:<url> --all` of 10,000 Lambda dead letters, the
 * CLI as a process against the SQS, EventBridge and DynamoDB wire fakes (the real SDK clients
 * over HTTP), the simulated model provider at 0 ms. Reports the wall time, the rate, and what
 * reached the fakes: one PutEvents result per event, every message deleted, SQS receives of at
 * most 10.
 *
 * Runs the CLI from the sources (tsx), so it measures the code as it is, built or not.
 * Options: BENCH_REPLAY_LETTERS (default 10000), BENCH_REPLAY_CONCURRENCY (default 16),
 * BENCH_PROF=<dir> (a CPU profile of the CLI process, to see where the time goes).
 *
 * Alone: npx tsx test/bench/replayScale.ts
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startDynamoDbFake } from '../fakes/dynamoDbFake.ts';
import { startEventBridgeFake } from '../fakes/eventBridgeFake.ts';
import { startSqsFake } from '../fakes/sqsFake.ts';
import { awsDeploymentEnv, lambdaFailureRecord } from '../fakes/awsDeployment.ts';

const REPO = join(import.meta.dirname, '..', '..');
const TABLE = 'nearmesh-idem';

/** The on-failure record Lambda sends for a rule delivery `{ meshRoute, event }` it gave up on. */
function destinationRecord(order: Record<string, unknown>, i: number): string {
  return lambdaFailureRecord({ ...order, id: `55555555-0000-4000-8000-${String(i).padStart(12, '0')}` }, { requestId: `req-${i}` });
}

export async function benchReplayScale(): Promise<void> {
  const letters = Number(process.env.BENCH_REPLAY_LETTERS ?? 10_000);
  const concurrency = Number(process.env.BENCH_REPLAY_CONCURRENCY ?? 16);
  const dir = await mkdtemp(join(tmpdir(), 'nearmesh-bench-replay-'));
  const [sqs, events, dynamo] = await Promise.all([startSqsFake(), startEventBridgeFake(), startDynamoDbFake()]);
  try {
    dynamo.createTable(TABLE);
    // The repository's catalogue, every endpoint answering at once: the bench measures the replay, not a model.
    const doc = parse(await readFile(join(REPO, 'mesh.yaml'), 'utf8')) as { models: Array<{ simulated?: Record<string, unknown> }> };
    for (const m of doc.models) m.simulated = { ...m.simulated, latencyMs: 0 };
    const config = join(dir, 'mesh.yaml');
    await writeFile(config, stringify(doc));
    const order = JSON.parse(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8')) as Record<string, unknown>;
    const url = sqs.createQueue('bench-dlq');
    for (let i = 0; i < letters; i++) sqs.send(url, destinationRecord(order, i));

    const started = performance.now();
    const run = await runCli(['replay', '--source', `sqs:${url}`, '--all', '--yes', '--json', '--concurrency', String(concurrency), '--config', config, '--routes', join(REPO, 'events/routes')], awsDeploymentEnv({ sqs, events, dynamo }, join(dir, 'home'), TABLE));
    const seconds = (performance.now() - started) / 1000;
    const summary = (JSON.parse(run.stdout) as { summary: Record<string, number> }).summary;
    const receives = sqs.calls.filter((c) => c.operation === 'ReceiveMessage');
    const deletes = sqs.calls.filter((c) => c.operation === 'DeleteMessage').length;
    const results = events.accepted.filter((e) => e.DetailType === 'OrderRiskScored').length;
    const maxPerReceive = Math.max(...receives.map((c) => Number(c.body.MaxNumberOfMessages)));
    console.log(`\nreplay at scale: ${letters} SQS dead letters, mesh replay --source sqs: --all --concurrency ${concurrency} (CLI process, wire fakes, simulated models at 0 ms)`);
    console.log(`  wall time ${seconds.toFixed(1)} s, ${(letters / seconds).toFixed(0)} dead letters/s (exit ${run.code})`);
    console.log(`  succeeded ${summary.succeeded}, failed again ${summary['failed-again']}, already done ${summary['already-done']}; ${results} results by PutEvents, ${deletes} messages deleted, ${sqs.visible(url).length} left`);
    console.log(`  ${receives.length} ReceiveMessage calls, at most ${maxPerReceive} messages each`);
  } finally {
    await Promise.all([sqs.close(), events.close(), dynamo.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : []), '--import', 'tsx', join(REPO, 'functions/cli/mesh.ts'), ...args], { cwd: REPO, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await benchReplayScale();
