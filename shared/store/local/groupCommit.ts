/**
 * What group commit needs of the connection: node:sqlite's synchronous calls, wrapped so that
 * they throw the store's own errors.
 */
export interface GroupConnection {
  /** Runs one prepared statement and returns what it selected or returned. */
  run(sql: string, params: unknown[]): unknown[];
  /** Runs one of the fixed transaction statements (BEGIN IMMEDIATE, COMMIT, SAVEPOINT…). */
  control(sql: string): void;
  /** Whether a transaction is open (SQLite may roll one back by itself after some errors). */
  inTransaction(): boolean;
}

interface Member {
  sql: string;
  params: unknown[];
  rows: unknown[];
  resolve: (out: { rows: unknown[] }) => void;
  reject: (err: unknown) => void;
}

const SAVEPOINT = 'SAVEPOINT mesh_statement';
const RELEASE = 'RELEASE mesh_statement';
const ROLLBACK_TO = 'ROLLBACK TO mesh_statement';

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
 * - each statement runs inside its own savepoint: a statement that fails is rolled back alone
 *   and fails only its caller; its neighbours in the group commit as usual;
 * - if SQLite gives up the whole transaction (it may, after an I/O error or a full disk) or the
 *   commit fails, the group's statements are run again one by one, each committed on its own,
 *   each caller told of its own result. Nothing ran between them on this connection (node:sqlite
 *   is synchronous, and the store lock keeps other processes out), so they see the state they
 *   saw the first time.
 */
export class GroupCommit {
  private group: Member[] | undefined;
  /** A statement ran this turn of the event loop: the next ones are grouped until setImmediate. */
  private turnStarted = false;

  constructor(private readonly conn: GroupConnection) {}

  query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }> {
    if (!this.turnStarted) {
      // The first statement of a turn commits on its own at once, as without grouping: one
      // event in flight waits for nothing. Those that follow it in the same turn are grouped.
      this.turnStarted = true;
      setImmediate(this.endTurn);
      try {
        return Promise.resolve({ rows: this.conn.run(sql, params) });
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => {
      const member: Member = { sql, params, rows: [], resolve, reject };
      if (!this.group) {
        try {
          // IMMEDIATE takes the write lock now, so the group cannot fail half way for want of it.
          this.conn.control('BEGIN IMMEDIATE');
        } catch (err) {
          return reject(err);
        }
        this.group = [];
      }
      const group = this.group;
      try {
        this.conn.control(SAVEPOINT);
        member.rows = this.conn.run(sql, params);
        this.conn.control(RELEASE);
        group.push(member);
      } catch (err) {
        if (this.conn.inTransaction()) {
          this.undoStatement();
          reject(err);
          return;
        }
        // The failure took the transaction, and the group's earlier statements, with it.
        this.group = undefined;
        reject(err);
        this.runOneByOne(group);
      }
    });
  }

  private readonly endTurn = (): void => {
    this.turnStarted = false;
    this.flush();
  };

  /** Commits the open group now (before a schema change, an explicit transaction, closing). */
  flush(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    try {
      this.conn.control('COMMIT');
    } catch {
      // Busy (a reader holding the log during a checkpoint) or an I/O error: nothing of the
      // group is committed. Each statement gets its own chance, and its own error.
      this.rollback();
      this.runOneByOne(group);
      return;
    }
    for (const member of group) member.resolve({ rows: member.rows });
  }

  private undoStatement(): void {
    try {
      this.conn.control(ROLLBACK_TO);
      this.conn.control(RELEASE);
    } catch {
      // Could not undo the one statement: give up the group rather than commit half of it.
      this.rollback();
      const group = this.group ?? [];
      this.group = undefined;
      this.runOneByOne(group);
    }
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
