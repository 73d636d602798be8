/**
 * What group commit needs of the connection: node:sqlite's synchronous calls, wrapped so that
 * they throw the store's own errors.
 */
export interface GroupConnection {
  /** Runs one prepared statement and returns what it selected or returned. */
  run(sql: string, params: unknown[]): unknown[];
  /** Runs one of the fixed transaction statements (BEGIN IMMEDIATE, COMMIT, ROLLBACK). */
  control(sql: string): void;
  /** Whether a transaction is open (SQLite may roll one back by itself after some errors). */
  inTransaction(): boolean;
}

import { AsyncLocalStorage } from 'node:async_hooks';

interface Member {
  sql: string;
  params: unknown[];
  rows: unknown[];
  resolve: (out: { rows: unknown[] }) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: the first statement of a turn of the event loop commits on its own, at once;
 * statements issued after it in the same turn share one transaction, committed once the event
 * loop has run what was ready (setImmediate). A write's cost in WAL mode is
 * mostly its commit (the log frames and the lock), so sixteen events in flight pay for one
 * commit a turn instead of one a statement, and a page several statements touch is logged once.
 *
 * What each caller sees is what it saw with one commit per statement:
 * - its promise resolves only after the commit that holds its statement (a read included, so
 *   nothing uncommitted reaches a caller), and rejects if that commit fails;
 * - a statement that fails is rolled back alone and fails only its caller; its neighbours in
 *   the group commit as usual. SQLite does this itself: under its default conflict resolution
 *   (ABORT) a failing statement's changes are backed out and the transaction stays open. (No
 *   statement of the mesh says OR FAIL, which would keep a failing statement's earlier rows; a
 *   savepoint around every statement did the same work again, two statements each);
 * - if SQLite gives up the whole transaction (it may, after an I/O error or a full disk) or the
 *   commit fails, the group's statements are run again one by one, each committed on its own,
 *   each caller told of its own result. Nothing ran between them on this connection (node:sqlite
 *   is synchronous, and the store lock keeps other processes out), so they see the state they
 *   saw the first time.
 *
 * A unit of work (`unit`) is the exception, for the pipeline's steps on one event: its
 * statements resolve as soon as they ran, inside the open transaction, so the steps that
 * follow (claim after logging the input; renew, publish, complete after the answer) join that
 * transaction instead of waiting for a commit each; the unit itself resolves only after every
 * commit holding its statements, and rejects if one failed. Nobody waits for what a unit
 * wrote until the unit ends, so a transaction that holds only the writes of units still
 * running is not committed at the end of a turn: it stays open across the model call, and
 * commits when a unit that wrote in it ends (at once when no other unit still running wrote
 * in it, else at the end of that turn) or a plain statement joins it. One event in
 * flight pays one commit instead of one before and one after its model call, and a page both
 * touch is logged once. Those writes are uncommitted a little longer, and nothing was
 * acknowledged on them: after a crash the event is delivered again, as before its commit.
 *
 * What a unit's statement read that is not committed yet was written in the same transaction,
 * which commits or fails as a whole: nobody acts on a write that is later rolled back without
 * being told so (its unit rejects). A unit's statements are not run again one by one after a
 * failed commit (its code already went on from their results): the unit fails, and its caller
 * reports the event as not processed.
 */
export class GroupCommit {
  private group: Group | undefined;
  /** A statement ran this turn of the event loop: the next ones are grouped until setImmediate. */
  private turnStarted = false;
  private readonly units = new AsyncLocalStorage<Unit>();

  constructor(private readonly conn: GroupConnection) {}

  /**
   * Runs `fn` as one unit of work (see above): resolves with its result once everything it
   * wrote is committed. A unit inside a unit is part of the outer one.
   */
  async unit<T>(fn: () => Promise<T>): Promise<T> {
    if (this.units.getStore()?.open) return fn();
    const unit: Unit = { open: true, commits: new Set() };
    let out: T;
    try {
      out = await this.units.run(unit, fn);
    } finally {
      // Statements started after the unit's code returned (a forgotten promise) are plain ones.
      unit.open = false;
      // Its writes in the open transaction are now awaited. If no other unit still running
      // wrote in it, nothing more will join it for a reason: commit now. Otherwise at the end
      // of this turn, with what the others add meanwhile.
      const group = this.group;
      if (group && unit.commits.has(group.committed.promise)) {
        group.running--;
        group.awaited = true;
        if (group.running === 0) this.flush();
        else this.startTurn();
      }
    }
    for (const commit of unit.commits) await commit;
    return out;
  }

  query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }> {
    const unit = this.units.getStore();
    if (unit?.open) return this.unitStatement(unit, sql, params);
    // With no transaction open (units in flight may hold one across turns), the first
    // statement of a turn needs no group.
    if (!this.turnStarted && !this.group) {
      // The first statement of a turn commits on its own at once, as without grouping: one
      // event in flight waits for nothing. Those that follow it in the same turn are grouped.
      this.startTurn();
      try {
        return Promise.resolve({ rows: this.conn.run(sql, params) });
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => {
      const member: Member = { sql, params, rows: [], resolve, reject };
      let group: Group;
      try {
        group = this.openGroup();
      } catch (err) {
        return reject(err);
      }
      try {
        member.rows = this.conn.run(sql, params);
        group.members.push(member);
        this.startTurn();
      } catch (err) {
        reject(err);
        this.afterStatementFailure(group, err);
      }
    });
  }

  private unitStatement(unit: Unit, sql: string, params: unknown[]): Promise<{ rows: unknown[] }> {
    this.startTurn();
    let group: Group;
    try {
      group = this.openGroup();
    } catch (err) {
      return Promise.reject(err);
    }
    if (!unit.commits.has(group.committed.promise)) {
      unit.commits.add(group.committed.promise);
      group.running++;
    }
    try {
      return Promise.resolve({ rows: this.conn.run(sql, params) });
    } catch (err) {
      this.afterStatementFailure(group, err);
      return Promise.reject(err);
    }
  }

  private startTurn(): void {
    if (this.turnStarted) return;
    this.turnStarted = true;
    setImmediate(this.endTurn);
  }

  private openGroup(): Group {
    if (this.group) return this.group;
    // IMMEDIATE takes the write lock now, so the group cannot fail half way for want of it.
    this.conn.control('BEGIN IMMEDIATE');
    this.group = { members: [], committed: deferred(), awaited: false, running: 0 };
    return this.group;
  }

  /**
   * A statement of `group` failed (its caller is told). With the transaction still open SQLite
   * backed out that statement alone; if it dropped the transaction, the group is lost.
   */
  private afterStatementFailure(group: Group, err: unknown): void {
    if (this.conn.inTransaction()) return;
    // The failure took the transaction, and the group's earlier statements, with it.
    this.abandon(group, err);
  }

  private readonly endTurn = (): void => {
    this.turnStarted = false;
    // Only units still running wrote in it: nobody waits for the commit yet.
    if (this.group && !this.group.awaited && this.group.members.length === 0) return;
    this.flush();
  };

  /** Commits the open group now (before a schema change, an explicit transaction, closing). */
  flush(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    try {
      this.conn.control('COMMIT');
    } catch (err) {
      // Busy (a reader holding the log during a checkpoint) or an I/O error: nothing of the
      // group is committed. Each statement gets its own chance, and its own error.
      this.rollback();
      this.fail(group, err);
      return;
    }
    for (const member of group.members) member.resolve({ rows: member.rows });
    group.committed.resolve();
  }

  /** Roll back the group and give each of its plain statements its own chance. */
  private abandon(group: Group, err: unknown): void {
    if (this.group === group) this.group = undefined;
    this.rollback();
    this.fail(group, err);
  }

  private fail(group: Group, err: unknown): void {
    group.committed.reject(err);
    this.runOneByOne(group.members);
  }

  private rollback(): void {
    if (!this.conn.inTransaction()) return;
    try {
      this.conn.control('ROLLBACK');
    } catch {
      // Each statement run again below reports what is wrong with the connection.
    }
  }

  private runOneByOne(members: Member[]): void {
    for (const member of members) {
      try {
        member.resolve({ rows: this.conn.run(member.sql, member.params) });
      } catch (err) {
        member.reject(err);
      }
    }
  }
}

interface Group {
  /** Plain statements, resolved at the commit. */
  members: Member[];
  /** Settles with the commit: what units that wrote in this group wait for. */
  committed: Deferred;
  /** A unit that wrote in this group ended and waits for its commit. */
  awaited: boolean;
  /** Units that wrote in this group and are still running. */
  running: number;
}

interface Unit {
  /** False once the unit's code returned. */
  open: boolean;
  commits: Set<Promise<void>>;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Awaited only by units that wrote in the group; nobody else must see an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
