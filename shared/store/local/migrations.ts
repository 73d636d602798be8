import type { Clock } from '../../core/clock.ts';
import { InternalError } from '../../core/errors.ts';
import type { SqlClient } from './SqlClient.ts';

/**
 * The schema of `mesh.sqlite`, as an append-only list: a store written by an older mesh is
 * brought forward on open, and one written by a newer mesh is refused rather than misread.
 * Never edit a step that has shipped; stores on disk already ran it. (Stores of the PGlite
 * era are a different file altogether and are not migrated: see LegacyStoreError.)
 *
 * Tables are STRICT, so a wrong type is an error rather than a silent conversion. JSON is
 * TEXT, written by JSON.stringify and read back by JSON.parse, so key order, unicode and
 * number spelling come back exactly as they went in; nothing queries inside it. Booleans
 * are 0/1.
 *
 * Times: instants the caller gave are kept as written (`at`, returned unchanged) with an
 * epoch-milliseconds twin (`at_ms`) for ordering and filters, parsed the way the in-memory
 * store parses them; instants the store takes from its clock (lease expiry, when an entry was
 * logged or a failure resolved) are epoch milliseconds only. Ids compare with the BINARY
 * collation, byte order of UTF-8, which is code point order whatever the host locale.
 *
 * `events.seq` is AUTOINCREMENT: numbers are never handed out twice, even after pruning
 * deleted the newest entries, so a reader's `afterSeq` cursor stays valid.
 */
export const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE idempotency (
        key            TEXT PRIMARY KEY,
        status         TEXT NOT NULL CHECK (status IN ('in-progress', 'completed')),
        result_id      TEXT,
        -- The token begin handed out; renew, complete and release must present it.
        owner          TEXT,
        expires_at_ms  INTEGER NOT NULL,
        updated_at_ms  INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE failures (
        id              TEXT PRIMARY KEY,
        at              TEXT NOT NULL,
        at_ms           INTEGER NOT NULL,
        event_id        TEXT NOT NULL,
        route_id        TEXT,
        error_code      TEXT NOT NULL,
        message         TEXT NOT NULL,
        retryable       INTEGER NOT NULL CHECK (retryable IN (0, 1)),
        attempts        TEXT NOT NULL,
        placement       TEXT,
        envelope        TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
        failures        INTEGER NOT NULL,
        -- When it was last resolved (store clock); NULL while open. Retention counts from here.
        resolved_at_ms  INTEGER
      ) STRICT;
      CREATE INDEX failures_newest ON failures (at_ms DESC, id DESC);
      CREATE INDEX failures_route_newest ON failures (route_id, at_ms DESC, id DESC);
      CREATE INDEX failures_code_newest ON failures (error_code, at_ms DESC, id DESC);
      CREATE INDEX failures_status_newest ON failures (status, at_ms DESC, id DESC);
      CREATE INDEX failures_resolved ON failures (resolved_at_ms) WHERE status = 'resolved';

      -- Replay history: who replayed a failure, when, with what, and how it ended.
      CREATE TABLE replays (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        failure_id  TEXT NOT NULL REFERENCES failures (id) ON DELETE CASCADE,
        record      TEXT NOT NULL
      ) STRICT;
      CREATE INDEX replays_failure ON replays (failure_id, seq);

      CREATE TABLE events (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        at            TEXT NOT NULL,
        -- When the store logged it (store clock): what retention prunes by.
        logged_at_ms  INTEGER NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('input', 'result')),
        event_id      TEXT NOT NULL,
        type          TEXT NOT NULL,
        source        TEXT NOT NULL,
        route_id      TEXT,
        destination   TEXT,
        envelope      TEXT NOT NULL
      ) STRICT;
      CREATE INDEX events_kind_seq ON events (kind, seq);
      CREATE INDEX events_route_seq ON events (route_id, seq);
      CREATE INDEX events_logged ON events (logged_at_ms);
    `,
  },
  {
    version: 2,
    sql: `
      -- One row per model invocation attempt (sqlAuditLog.ts). No content: no prompt, no answer, no envelope.
      CREATE TABLE audit (
        seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
        at                    TEXT NOT NULL,
        at_ms                 INTEGER NOT NULL,
        route_id              TEXT NOT NULL,
        event_id              TEXT NOT NULL,
        endpoint              TEXT NOT NULL,
        provider              TEXT NOT NULL,
        model                 TEXT NOT NULL,
        cloud                 TEXT NOT NULL,
        region                TEXT,
        attempt               INTEGER NOT NULL,
        data_location         TEXT NOT NULL,
        data_location_source  TEXT NOT NULL,
        classification        TEXT NOT NULL,
        input_tokens          INTEGER,
        output_tokens         INTEGER,
        cost_usd              REAL,
        outcome               TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
        error_code            TEXT,
        latency_ms            INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX audit_newest ON audit (at_ms DESC, seq DESC);
      CREATE INDEX audit_route_newest ON audit (route_id, at_ms DESC, seq DESC);
    `,
  },
  {
    version: 3,
    sql: `
      -- Results held for approval (sqlApprovals.ts): the result envelope and its destinations as JSON.
      CREATE TABLE approvals (
        result_id     TEXT PRIMARY KEY,
        seq           INTEGER NOT NULL,
        route_id      TEXT NOT NULL,
        input_id      TEXT NOT NULL,
        held_at       TEXT NOT NULL,
        held_at_ms    INTEGER NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
        result        TEXT NOT NULL,
        destinations  TEXT NOT NULL,
        decided_at    TEXT,
        -- When the decision was recorded (store clock); NULL while pending. Retention counts from here.
        decided_at_ms INTEGER,
        actor         TEXT,
        reason        TEXT
      ) STRICT;
      CREATE INDEX approvals_newest ON approvals (held_at_ms DESC, seq DESC);
      CREATE INDEX approvals_status_newest ON approvals (status, held_at_ms DESC, seq DESC);
      CREATE INDEX approvals_decided ON approvals (decided_at_ms) WHERE status <> 'pending';
    `,
  },
  {
    version: 4,
    sql: `
      -- Usage counters for route budgets and endpoint rate limits (sqlCounters.ts): one row per
      -- counter key and fixed window; rows of ended windows are deleted as new windows are counted.
      CREATE TABLE counters (
        key              TEXT NOT NULL,
        window_start_ms  INTEGER NOT NULL,
        window_ms        INTEGER NOT NULL,
        -- window_start_ms + window_ms: from then on the row may be deleted.
        end_ms           INTEGER NOT NULL,
        used             REAL NOT NULL CHECK (used >= 0),
        PRIMARY KEY (key, window_start_ms, window_ms)
      ) STRICT;
      CREATE INDEX counters_end ON counters (end_ms);
    `,
  },
  {
    version: 5,
    sql: `
      -- What an event writes, in fewer pages (each page a commit touches is written to the log,
      -- then again by the checkpoint). Claims: the key is the table's own key (WITHOUT ROWID),
      -- not a rowid table plus a second b-tree for the key.
      CREATE TABLE idempotency_v5 (
        key            TEXT PRIMARY KEY,
        status         TEXT NOT NULL CHECK (status IN ('in-progress', 'completed')),
        result_id      TEXT,
        owner          TEXT,
        expires_at_ms  INTEGER NOT NULL,
        updated_at_ms  INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      INSERT INTO idempotency_v5 (key, status, result_id, owner, expires_at_ms, updated_at_ms)
        SELECT key, status, result_id, owner, expires_at_ms, updated_at_ms FROM idempotency;
      DROP TABLE idempotency;
      ALTER TABLE idempotency_v5 RENAME TO idempotency;
      -- Listing by kind walks seq order (inputs and results alternate); retention deletes a
      -- prefix of seq order (sqlRetention.ts): neither needs an index of its own.
      DROP INDEX events_kind_seq;
      DROP INDEX events_logged;
      -- Inputs have no route: only results are indexed by route.
      DROP INDEX events_route_seq;
      CREATE INDEX events_route_seq ON events (route_id, seq) WHERE route_id IS NOT NULL;
    `,
  },
];

/** The newest schema this code knows. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Applies the migrations the database has not seen yet, each in its own transaction, and
 * returns the schema version it ends at. Safe to run on every open. `where` names the
 * store in errors.
 */
export async function migrate(db: SqlClient, clock: Clock, where: string): Promise<number> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    applied_at  TEXT NOT NULL
  ) STRICT`);
  const { rows } = await db.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_version');
  const current = rows[0]?.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new InternalError(
      `the store in ${where} has schema version ${current}, newer than this mesh knows (${SCHEMA_VERSION}); upgrade nearmesh or use another directory`,
      { context: { dir: where } },
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    await db.transaction(async (tx) => {
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)', [m.version, clock.now().toISOString()]);
    });
  }
  return SCHEMA_VERSION;
}
