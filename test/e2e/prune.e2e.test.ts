import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLocalStore } from '../../shared/store/index.ts';
import { auditEntry, entry, failure } from '../contract/store/fixtures.ts';
import { FakeClock } from '../fakes/fakeClock.ts';
import { runMesh, startDev } from './devProcess.ts';

/* `mesh prune` and the pruning at `mesh dev` start, on a store holding old and recent data. */

const DAY = 86_400_000;
const homes: string[] = [];

/**
 * A store as a week and more of use leaves it: inputs and results logged 10 days and 2 days
 * ago, a failure resolved 40 days ago, one resolved 2 days ago, one open for 90 days.
 */
async function agedStore(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'nearmesh-prune-'));
  homes.push(home);
  const clock = new FakeClock(new Date(Date.now() - 90 * DAY).toISOString());
  const store = await openLocalStore({ dir: home, clock });
  try {
    await store.failures.recordFailure(failure({ id: 'f-open', at: clock.now().toISOString() }));
    clock.advance(50 * DAY);
    await store.failures.recordFailure(failure({ id: 'f-old' }));
    await store.failures.resolveFailure('f-old');
    clock.advance(30 * DAY);
    await store.events.append(entry({ eventId: 'old-input' }));
    await store.events.append(entry({ kind: 'result', eventId: 'old-result', routeId: 'r1', destination: 'orders-bus' }));
    clock.advance(8 * DAY);
    await store.events.append(entry({ eventId: 'recent-input' }));
    await store.failures.recordFailure(failure({ id: 'f-recent' }));
    await store.failures.resolveFailure('f-recent');
    // Model calls made 400 days ago (past the audit's 365 days) and today.
    await store.audit.record(auditEntry({ eventId: 'old-call', at: new Date(clock.now().getTime() - 400 * DAY).toISOString() }));
    await store.audit.record(auditEntry({ eventId: 'recent-call', at: clock.now().toISOString() }));
  } finally {
    await store.close();
  }
  return home;
}

async function contents(home: string): Promise<{ events: string[]; failures: string[]; audit: string[] }> {
  const store = await openLocalStore({ dir: home });
  try {
    return {
      events: (await store.events.listEvents()).map((e) => e.eventId),
      failures: (await store.failures.listFailures()).map((f) => f.id).sort(),
      audit: (await store.audit.listAudit()).map((e) => e.eventId),
    };
  } finally {
    await store.close();
  }
}

afterAll(async () => {
  await Promise.all(homes.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('mesh prune', () => {
  it('counts in a dry run, then deletes events past retention and long-resolved failures, keeping open ones', { timeout: 60_000 }, async () => {
    const home = await agedStore();

    const dry = await runMesh(['prune', '--dry-run', '--json'], { MESH_HOME: home });
    const untouched = await contents(home);
    const real = await runMesh(['prune'], { MESH_HOME: home });

    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dryRun: true,
      events: { olderThan: '7d', count: 2, before: expect.any(String) },
      resolvedFailures: { olderThan: '30d', count: 1 },
      audit: { olderThan: '365d', count: 1 },
    });
    expect(untouched.events).toEqual(['old-input', 'old-result', 'recent-input']);
    expect(untouched.audit).toEqual(['recent-call', 'old-call']);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('Pruned 2 inputs and results older than 7d and 1 failure resolved more than 30d ago; open failures are kept. Pruned 1 audit record older than 365d and 0 approvals decided more than 30d ago; pending approvals are kept.');
    expect(await contents(home)).toEqual({ events: ['recent-input'], failures: ['f-open', 'f-recent'], audit: ['recent-call'] });
  });

  it('--older-than overrides the retention of events for one run', { timeout: 60_000 }, async () => {
    const home = await agedStore();

    const r = await runMesh(['prune', '--older-than', '1d', '--json'], { MESH_HOME: home });

    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dryRun: false, events: { olderThan: '1d', count: 3 }, resolvedFailures: { olderThan: '30d', count: 1 } });
    expect((await contents(home)).events).toEqual([]);
  });

  it('refuses a duration without a unit as a usage error', async () => {
    const home = await mkdtemp(join(tmpdir(), 'nearmesh-prune-'));
    homes.push(home);

    const r = await runMesh(['prune', '--older-than', '7'], { MESH_HOME: home });

    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--older-than: expected a duration such as 7d.*got "7"/);
  });
});

describe('mesh dev start', () => {
  it('prunes as mesh.yaml says and says so; mesh prune meanwhile points at the running mesh dev', { timeout: 90_000 }, async () => {
    const home = await agedStore();
    const dev = await startDev(['--skip-samples'], { MESH_HOME: home });
    try {
      const whileRunning = await runMesh(['prune'], { MESH_HOME: home });

      expect(dev.output()).toContain('Pruned 2 inputs and results older than 7d and 1 failure resolved more than 30d ago');
      expect(whileRunning.code).toBe(1);
      expect(whileRunning.stderr).toMatch(/mesh dev is running .* holds its store/);
      const events = await runMesh(['events', '--json'], { MESH_HOME: home });
      expect((JSON.parse(events.stdout) as { eventId: string }[]).map((e) => e.eventId)).toEqual(['recent-input']);
    } finally {
      await dev.dispose();
    }
  });
});
