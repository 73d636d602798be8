import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit, type GroupConnection } from '../../../shared/store/local/groupCommit.ts';
import { openSqlite } from '../../../shared/store/local/sqliteClient.ts';

/** A connection that records what it was asked, and fails the statements and commits it is told to. */
function fakeConnection(options: { failSql?: string; failCommits?: number; dropTransactionOnFailure?: boolean } = {}) {
  const calls: string[] = [];
  let open = false;
  let failCommits = options.failCommits ?? 0;
  const conn: GroupConnection = {
    run(sql) {
      calls.push(sql);
      if (sql === options.failSql) {
        if (options.dropTransactionOnFailure) open = false;
        throw new Error(`${sql} failed`);
      }
      return [{ sql }];
    },
    control(sql) {
      calls.push(sql);
      if (sql === 'BEGIN IMMEDIATE') open = true;
      if (sql === 'COMMIT' && failCommits-- > 0) throw new Error('busy');
      if (sql === 'COMMIT' || sql === 'ROLLBACK') open = false;
    },
    inTransaction: () => open,
  };
  return { conn, calls };
}

describe('group commit', () => {
  it('commits the first statement of a turn at once, as without grouping', async () => {
    const { conn, calls } = fakeConnection();
    const group = new GroupCommit(conn);

    await expect(group.query('A', [])).resolves.toEqual({ rows: [{ sql: 'A' }] });

    expect(calls).toEqual(['A']);
  });

  it('commits the statements that follow in the same turn once, and resolves each caller only after that commit', async () => {
    const { conn, calls } = fakeConnection();
    const group = new GroupCommit(conn);

    const settled: string[] = [];
    const first = group.query('first', []);
    const a = group.query('A', []).then(() => settled.push(`A after ${calls.filter((c) => c === 'COMMIT').length} commit`));
    const b = group.query('B', []).then(() => settled.push(`B after ${calls.filter((c) => c === 'COMMIT').length} commit`));
    await Promise.resolve();
    expect(settled).toEqual([]);
    await Promise.all([first, a, b]);

    expect(calls.filter((c) => c === 'BEGIN IMMEDIATE' || c === 'COMMIT')).toEqual(['BEGIN IMMEDIATE', 'COMMIT']);
    expect(settled).toEqual(['A after 1 commit', 'B after 1 commit']);
  });

  it('fails only the statement that failed; its neighbours commit', async () => {
    const { conn, calls } = fakeConnection({ failSql: 'B' });
    const group = new GroupCommit(conn);

    const results = await Promise.allSettled([group.query('first', []), group.query('A', []), group.query('B', []), group.query('C', [])]);

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(calls).toContain('ROLLBACK TO mesh_statement');
    expect(calls.filter((c) => c === 'COMMIT')).toHaveLength(1);
  });

  it('runs the group again one by one when the commit fails, each caller told of its own result', async () => {
    const { conn, calls } = fakeConnection({ failCommits: 1 });
    const group = new GroupCommit(conn);

    const results = await Promise.allSettled([group.query('first', []), group.query('A', []), group.query('B', [])]);

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(calls.slice(calls.indexOf('COMMIT'))).toEqual(['COMMIT', 'ROLLBACK', 'A', 'B']);
  });

  it('runs the earlier statements again when a failure takes the whole transaction with it', async () => {
    const { conn, calls } = fakeConnection({ failSql: 'B', dropTransactionOnFailure: true });
    const group = new GroupCommit(conn);

    const results = await Promise.allSettled([group.query('first', []), group.query('A', []), group.query('B', [])]);

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    // A ran inside the lost transaction, then again on its own.
    expect(calls.filter((c) => c === 'A')).toHaveLength(2);
  });
});

describe('group commit on SQLite', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the neighbours of a statement that breaks a constraint, and rolls back only that statement', async () => {
    dir = await mkdtemp(join(tmpdir(), 'nearmesh-group-'));
    const db = openSqlite(join(dir, 'db.sqlite'), dir);
    try {
      await db.client.exec('CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)');
      await db.client.query('INSERT INTO t VALUES (?, ?)', ['taken', 0]);

      const results = await Promise.allSettled([
        db.client.query('SELECT 1'),
        db.client.query('INSERT INTO t VALUES (?, ?)', ['a', 1]),
        // Two rows, the second a duplicate: the first row must not survive its statement's failure.
        db.client.query('INSERT INTO t VALUES (?, ?), (?, ?)', ['b', 2, 'taken', 2]),
        db.client.query('INSERT INTO t VALUES (?, ?)', ['c', 3]),
      ]);

      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      const { rows } = await db.client.query<{ k: string }>('SELECT k FROM t ORDER BY k');
      expect(rows.map((r) => r.k)).toEqual(['a', 'c', 'taken']);
    } finally {
      db.close();
    }
  });
});
