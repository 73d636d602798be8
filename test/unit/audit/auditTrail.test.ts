import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, AuditTrail } from '../../../shared/core/ports/AuditLog.ts';
import { DATABASE_FILE, openLocalStore, type LocalStore } from '../../../shared/store/index.ts';
import { MIGRATIONS } from '../../../shared/store/local/migrations.ts';
import { memoryAuditTrail } from '../../../shared/store/memory/index.ts';

/* The embedded and the in-memory audit trail keep and list the same records the same way. */

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: '2026-11-22T08:00:00.000Z',
    routeId: 'order-risk',
    eventId: 'e-1',
    endpoint: 'sim-bedrock-us-east-1',
    provider: 'simulated',
    model: 'm',
    cloud: 'aws',
    region: 'us-east-1',
    attempt: 1,
    dataLocation: 'aws:us-east-1',
    dataLocationSource: 'origin',
    classification: 'internal',
    tokens: { input: 100, output: 20 },
    costUsd: 0.000027,
    outcome: 'ok',
    errorCode: null,
    latencyMs: 42,
    ...overrides,
  };
}

let root = '';
const opened: LocalStore[] = [];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nearmesh-audit-'));
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await rm(root, { recursive: true, force: true });
});

const trails: Array<[string, () => Promise<AuditTrail>]> = [
  ['in memory', async () => memoryAuditTrail()],
  [
    'embedded',
    async () => {
      const store = await openLocalStore({ dir: await mkdtemp(join(root, 'store-')) });
      opened.push(store);
      return store.audit;
    },
  ],
];

describe.each(trails)('the audit trail (%s)', (_name, open) => {
  it('gives back a record exactly as it was kept, a failed attempt’s nulls included', async () => {
    const audit = await open();
    const failed = entry({ outcome: 'error', errorCode: 'ModelThrottled', tokens: null, costUsd: null, region: null, attempt: 2 });
    await audit.record(failed);
    expect(await audit.listAudit()).toEqual([failed]);
  });

  it('lists newest first, the later record first at the same instant, filtered by route and since (inclusive), up to the limit', async () => {
    const audit = await open();
    await audit.record(entry({ eventId: 'old', at: '2026-11-22T07:00:00.000Z' }));
    await audit.record(entry({ eventId: 'a', at: '2026-11-22T08:00:00.000Z' }));
    await audit.record(entry({ eventId: 'b', at: '2026-11-22T08:00:00.000Z' }));
    await audit.record(entry({ eventId: 'other-route', routeId: 'invoice-extract', at: '2026-11-22T09:00:00.000Z' }));
    const ids = async (f: Parameters<AuditTrail['listAudit']>[0]) => (await audit.listAudit(f)).map((e) => e.eventId);
    expect(await ids({})).toEqual(['other-route', 'b', 'a', 'old']);
    expect(await ids({ routeId: 'order-risk' })).toEqual(['b', 'a', 'old']);
    expect(await ids({ since: '2026-11-22T08:00:00Z' })).toEqual(['other-route', 'b', 'a']);
    expect(await ids({ routeId: 'order-risk', limit: 1 })).toEqual(['b']);
  });

  it('refuses a since that is not a time, and a negative limit', async () => {
    const audit = await open();
    await expect(audit.listAudit({ since: 'yesterday' })).rejects.toThrow(/since must be an ISO 8601 instant/);
    await expect(audit.listAudit({ limit: -1 })).rejects.toThrow(/limit must be a whole number/);
  });
});

describe('the audit table in a store written before it existed', () => {
  it('is added when the store is opened, leaving the existing data alone', async () => {
    // Prepare: a store at schema version 1, with an event in it
    const dir = await mkdtemp(join(root, 'v1-'));
    const db = new DatabaseSync(join(dir, DATABASE_FILE));
    db.exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT`);
    db.exec(MIGRATIONS.find((m) => m.version === 1)!.sql);
    db.exec(`INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00.000Z')`);
    db.exec(`INSERT INTO events (at, logged_at_ms, kind, event_id, type, source, envelope) VALUES ('2026-01-01T00:00:00.000Z', 0, 'input', 'e-0', 't', 's', '{}')`);
    db.close();
    // Act
    const store = await openLocalStore({ dir });
    opened.push(store);
    await store.audit.record(entry());
    // Assess
    expect(await store.audit.listAudit()).toEqual([entry()]);
    expect((await store.events.listEvents()).map((e) => e.eventId)).toEqual(['e-0']);
  });
});
