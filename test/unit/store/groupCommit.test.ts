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
    // SQLite backed out the failed statement itself and kept the transaction: nothing rolled back, one commit.
    expect(calls).not.toContain('ROLLBACK');
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

describe('group commit: units of work', () => {
  const commits = (calls: string[]) => calls.filter((c) => c === 'COMMIT').length;

  it('puts a unit\'s statements of one turn in one transaction, hands each its rows at once, and resolves the unit after the commit', async () => {
    const { conn, calls } = fakeConnection();
    const group = new GroupCommit(conn);

    const seen: string[] = [];
    const out = await group.unit(async () => {
      const a = await group.query('A', []);
      seen.push(`A rows ${JSON.stringify(a.rows)} after ${commits(calls)} commits`);
      await group.query('B', []);
      seen.push(`B after ${commits(calls)} commits`);
      return 'done';
    });
    seen.push(`unit after ${commits(calls)} commits`);

    expect(out).toBe('done');
    expect(seen).toEqual(['A rows [{"sql":"A"}] after 0 commits', 'B after 0 commits', 'unit after 1 commits']);
    expect(calls.filter((c) => c === 'BEGIN IMMEDIATE' || c === 'COMMIT' || c === 'A' || c === 'B')).toEqual(['BEGIN IMMEDIATE', 'A', 'B', 'COMMIT']);
  });

  it('keeps the transaction of a unit that spans turns open until the unit ends, then commits it once', async () => {
    const { conn, calls } = fakeConnection();
    const group = new GroupCommit(conn);

    let commitsDuringCall = -1;
    await group.unit(async () => {
      await group.query('A', []);
      // A model call: the event loop turns before the unit writes again.
      await new Promise((resolve) => setTimeout(resolve, 5));
      commitsDuringCall = commits(calls);
      await group.query('B', []);
    });

    expect(commitsDuringCall).toBe(0);
    expect(calls.filter((c) => c === 'BEGIN IMMEDIATE' || c === 'COMMIT' || c === 'A' || c === 'B')).toEqual(['BEGIN IMMEDIATE', 'A', 'B', 'COMMIT']);
  });

  it('commits at once when a unit ends and no other unit still running wrote in its transaction', async () => {
    const { conn, calls } = fakeConnection();
    const group = new GroupCommit(conn);

    let laterWork = false;
    await group.unit(async () => {
      // Queued before the unit's first statement: the end of the turn comes after it.
      setImmediate(() => (laterWork = true));
      await group.query('A', []);
    });

    expect(commits(calls)).toBe(1);
    expect(laterWork).toBe(false);
  });

  it('commits the open transaction when a plain statement joins it, with the writes of units still running', async () => {
    const { conn, calls } = fakeConnection();
    const group = new GroupCommit(conn);

    let release!: () => void;
    const modelCall = new Promise<void>((resolve) => (release = resolve));
    const unit = group.unit(async () => {
      await group.query('A', []);
      await modelCall;
      await group.query('B', []);
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(commits(calls)).toBe(0);

    // A reader in a later turn: it is not run outside the open transaction, and resolves after its commit.
    const read = await group.query('read', []);
    expect(read.rows).toEqual([{ sql: 'read' }]);
    expect(calls.filter((c) => c === 'BEGIN IMMEDIATE' || c === 'COMMIT' || c === 'A' || c === 'read')).toEqual(['BEGIN IMMEDIATE', 'A', 'read', 'COMMIT']);

    release();
    await unit;
    // The unit's later write needed a commit of its own before the unit resolved.
    expect(calls.slice(-3)).toEqual(['BEGIN IMMEDIATE', 'B', 'COMMIT']);
    expect(commits(calls)).toBe(2);
  });

  it('commits, when one unit ends, the writes other units still running made in the same transaction; each unit resolves after the commit of its own writes', async () => {
    const { conn, calls } = fakeConnection();
    const group = new GroupCommit(conn);

    let release!: () => void;
    const slowCall = new Promise<void>((resolve) => (release = resolve));
    const order: string[] = [];
    const slow = group.unit(async () => {
      await group.query('slow-claim', []);
      await slowCall;
      await group.query('slow-result', []);
    }).then(() => order.push(`slow after ${commits(calls)} commits`));
    const fast = group.unit(async () => {
      await group.query('fast-claim', []);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await group.query('fast-result', []);
    }).then(() => order.push(`fast after ${commits(calls)} commits`));

    await fast;
    expect(calls.filter((c) => c === 'COMMIT' || c.includes('-'))).toEqual(['slow-claim', 'fast-claim', 'fast-result', 'COMMIT']);
    release();
    await slow;
    expect(order).toEqual(['fast after 1 commits', 'slow after 2 commits']);
  });

  it('rejects the unit when its commit fails, while plain statements of the same group are run again and told their own result', async () => {
    const { conn, calls } = fakeConnection({ failCommits: 1 });
    const group = new GroupCommit(conn);

    const plainFirst = group.query('first', []);
    const unit = group.unit(async () => {
      await group.query('U', []);
      return 'wrote U';
    });
    const plain = group.query('P', []);

    await expect(unit).rejects.toThrow('busy');
    await expect(plain).resolves.toEqual({ rows: [{ sql: 'P' }] });
    await expect(plainFirst).resolves.toEqual({ rows: [{ sql: 'first' }] });
    // The unit's statement is not run again (its code went on from the rows it got); P is.
    expect(calls.slice(calls.indexOf('ROLLBACK'))).toEqual(['ROLLBACK', 'P']);
  });

  it('fails only the unit statement that failed; the unit\'s other statements commit', async () => {
    const { conn, calls } = fakeConnection({ failSql: 'B' });
    const group = new GroupCommit(conn);

    const caught = await group.unit(async () => {
      await group.query('A', []);
      return group.query('B', []).then(
        () => 'no error',
        (err: Error) => err.message,
      );
    });

    expect(caught).toBe('B failed');
    expect(calls).not.toContain('ROLLBACK');
    expect(commits(calls)).toBe(1);
  });

  it('rejects the unit when a failure takes the whole transaction with it', async () => {
    const { conn } = fakeConnection({ failSql: 'B', dropTransactionOnFailure: true });
    const group = new GroupCommit(conn);

    const unit = group.unit(async () => {
      await group.query('A', []);
      await group.query('B', []).catch(() => undefined);
      return 'went on';
    });

    await expect(unit).rejects.toThrow('B failed');
  });

  it('treats a unit inside a unit as part of the outer one', async () => {
    const { conn, calls } = fakeConnection();
    const group = new GroupCommit(conn);

    await group.unit(async () => {
      await group.query('A', []);
      await group.unit(async () => group.query('B', []));
      expect(commits(calls)).toBe(0);
    });

    expect(commits(calls)).toBe(1);
  });

  it('leaves statements started after the unit returned as plain ones', async () => {
    const { conn, calls } = fakeConnection();
    const group = new GroupCommit(conn);

    let late: Promise<unknown> | undefined;
    await group.unit(async () => {
      await group.query('A', []);
      late = new Promise((resolve) => setTimeout(resolve, 5)).then(() => group.query('late', []));
    });
    await late;

    // `late` ran as the first statement of its turn: committed on its own, not in a transaction.
    expect(calls.slice(-1)).toEqual(['late']);
  });
});

describe('group commit on SQLite', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A new database whose table `t` (key `k`) holds the row `taken`, which a later insert can collide with. */
  async function tableWithTakenRow() {
    dir = await mkdtemp(join(tmpdir(), 'nearmesh-group-'));
    const db = openSqlite(join(dir, 'db.sqlite'), dir);
    try {
      await db.client.exec('CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)');
      await db.client.query('INSERT INTO t VALUES (?, ?)', ['taken', 0]);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  it('keeps the neighbours of a statement that breaks a constraint, and rolls back only that statement', async () => {
    const db = await tableWithTakenRow();
    try {

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

  it('keeps a unit\'s other writes when one of its statements breaks a constraint, and none of that statement\'s rows', async () => {
    const db = await tableWithTakenRow();
    try {
      const caught = await db.client.unit(async () => {
        await db.client.query('INSERT INTO t VALUES (?, ?)', ['a', 1]);
        const failed = await db.client.query('INSERT INTO t VALUES (?, ?), (?, ?)', ['b', 2, 'taken', 2]).then(
          () => 'no error',
          (err: Error) => err.message,
        );
        await db.client.query('INSERT INTO t VALUES (?, ?)', ['c', 3]);
        return failed;
      });
      expect(caught).toMatch(/UNIQUE/);
      const { rows } = await db.client.query<{ k: string }>('SELECT k FROM t ORDER BY k');
      expect(rows.map((r) => r.k)).toEqual(['a', 'c', 'taken']);
    } finally {
      db.close();
    }
  });

  it('keeps a unit\'s writes visible to its own next statements before the commit, and committed when the unit resolves', async () => {
    dir = await mkdtemp(join(tmpdir(), 'nearmesh-group-'));
    const path = join(dir, 'db.sqlite');
    const db = openSqlite(path, dir);
    const other = openSqlite(path, dir);
    try {
      await db.client.exec('CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)');
      const read = await db.client.unit(async () => {
        await db.client.query('INSERT INTO t VALUES (?, ?)', ['claim', 1]);
        await db.client.query('UPDATE t SET n = n + 1 WHERE k = ?', ['claim']);
        return (await db.client.query<{ n: number }>('SELECT n FROM t WHERE k = ?', ['claim'])).rows[0]?.n;
      });
      expect(read).toBe(2);
      // Another connection sees only what is committed: the unit's writes, now that it resolved.
      const { rows } = await other.client.query<{ n: number }>('SELECT n FROM t WHERE k = ?', ['claim']);
      expect(rows).toEqual([{ n: 2 }]);
    } finally {
      other.close();
      db.close();
    }
  });
});
