import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDbFake, type DynamoDbFake } from '../fakes/dynamoDbFake.ts';
import { startEventBridgeFake, type EventBridgeFake } from '../fakes/eventBridgeFake.ts';
import { startSqsFake, type SqsFake } from '../fakes/sqsFake.ts';
import { awsDeploymentEnv, lambdaFailureRecord } from '../fakes/awsDeployment.ts';
import { REPO, runMesh } from './devProcess.ts';

/*
 * Ctrl-C in a large SQS replay, through the real CLI and the wire fakes: the replays in flight
 * finish, everything else is visible again at once (not after its 5-minute hold), the command
 * says how many were not tried, and the same command run again resumes: one result per event.
 */

const TABLE = 'nearmesh-idem';
let dir: string;
let env: Record<string, string>;
let sqs: SqsFake;
let events: EventBridgeFake;
let dynamo: DynamoDbFake;
let order: Record<string, unknown>;

function destinationRecord(eventId: string): string {
  return lambdaFailureRecord({ ...order, id: eventId });
}

/** Run mesh and press Ctrl-C (SIGINT) once stderr matches `when`. */
function runAndInterrupt(args: string[], when: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'mesh.js'), ...args], { cwd: REPO, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-replay-interrupt-'));
  [sqs, events, dynamo] = await Promise.all([startSqsFake(), startEventBridgeFake(), startDynamoDbFake()]);
  dynamo.createTable(TABLE);
  env = awsDeploymentEnv({ sqs, events, dynamo }, join(dir, 'home'), TABLE);
  order = JSON.parse(await readFile(join(REPO, 'events/samples/01-order-placed.eventbridge.json'), 'utf8')) as Record<string, unknown>;
});

afterAll(async () => {
  await Promise.all([sqs?.close(), events?.close(), dynamo?.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('Ctrl-C during a large dead-letter replay', () => {
  it('finishes in flight, releases the rest at once, and a second run resumes to exactly one result per event', async () => {
    // Prepare: 250 dead letters
    const url = sqs.createQueue('interrupt-dlq');
    const ids = Array.from({ length: 250 }, (_, i) => `77777777-0000-4000-8000-${String(i).padStart(12, '0')}`);
    for (const id of ids) sqs.send(url, destinationRecord(id));
    // Act: Ctrl-C once the first 100 are reported (a progress line every 100 off a terminal)
    const first = await runAndInterrupt(['replay', '--source', `sqs:${url}`, '--all', '--yes', '--rate', '40'], /\[100\/250\]/);
    // Assess: the run stopped, said so, and left nothing hidden
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/Interrupted: finishing the replays in flight/);
    expect(first.stdout).toMatch(/Interrupted: \d+ selected dead letters were not tried and are back in the queue/);
    const left = sqs.visible(url).length;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(150);
    const results = () => events.accepted.filter((e) => e.DetailType === 'OrderRiskScored').length;
    expect(results()).toBe(250 - left);
    // Resume
    const second = await runMesh(['replay', '--source', `sqs:${url}`, '--all', '--yes', '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(sqs.visible(url)).toEqual([]);
    expect(results()).toBe(250);
    for (const id of ids) expect(events.accepted.filter((e) => e.DetailType === 'OrderRiskScored' && e.Detail.includes(id))).toHaveLength(1);
  }, 120_000);
});
