import type { Clock } from '../../core/clock.ts';
import { InternalError } from '../../core/errors.ts';
import type { SqlClient } from './SqlClient.ts';

/**
 * The schema, as an append-only list: a store written by an older mesh is brought forward
 * on open, and one written by a newer mesh is refused rather than misread. Never edit a
 * step that has shipped; stores on disk already ran it.
 *
 * Every JSON column is `json`, not `jsonb`: `json` keeps the text exactly as written (key
 * order, `\u0000`, number spelling), and the failure ledger promises to replay an event
 * unchanged. Nothing queries inside these documents, so jsonb's indexing buys nothing.
 *
 * Failure instants are kept twice: `at` as the caller wrote it (returned unchanged) and
 * `at_ms` for ordering and the since/until filters, parsed the same way the in-memory
 * store parses them. Ids sort with the "C" collation (code point order), as JavaScript
 * compares them in the in-memory store, whatever the host locale.
 */
export const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE idempotency (
        key         text PRIMARY KEY,
        status      text NOT NULL CHECK (status IN ('in-progress', 'completed')),
        result_id   text,
        expires_at  timestamptz NOT NULL,
        updated_at  timestamptz NOT NULL
      );

      CREATE TABLE failures (
        id          text COLLATE "C" PRIMARY KEY,
        at          text NOT NULL,
        at_ms       bigint NOT NULL,
        event_id    text NOT NULL,
        route_id    text,
        error_code  text NOT NULL,
        message     text NOT NULL,
        retryable   boolean NOT NULL,
        attempts    json NOT NULL,
        placement   json,
        envelope    json NOT NULL,
        status      text NOT NULL CHECK (status IN ('open', 'resolved')),
        failures    integer NOT NULL
      );
      CREATE INDEX failures_newest ON failures (at_ms DESC, id DESC);
      CREATE INDEX failures_route_newest ON failures (route_id, at_ms DESC, id DESC);
      CREATE INDEX failures_code_newest ON failures (error_code, at_ms DESC, id DESC);
      CREATE INDEX failures_status_newest ON failures (status, at_ms DESC, id DESC);

      CREATE TABLE events (
        seq          bigserial PRIMARY KEY,
        at           text NOT NULL,
        kind         text NOT NULL CHECK (kind IN ('input', 'result')),
        event_id     text NOT NULL,
        type         text NOT NULL,
        source       text NOT NULL,
        route_id     text,
        destination  text,
        envelope     json NOT NULL
      );
      CREATE INDEX events_kind_seq ON events (kind, seq);
      CREATE INDEX events_route_seq ON events (route_id, seq);
    `,
  },
  {
    // Replay history: who replayed a failure, when, with what, and how it ended.
    version: 2,
    sql: `
      CREATE TABLE replays (
        seq         bigserial PRIMARY KEY,
        failure_id  text COLLATE "C" NOT NULL REFERENCES failures (id),
        record      json NOT NULL
      );
      CREATE INDEX replays_failure ON replays (failure_id, seq);
    `,
  },
  {
    // Claims are leases with an owner: the token `begin` handed out, which renew, complete and
    // release must present. Claims written before this step have none, so nobody can
    // complete them; they are taken over when they expire, as before.
    version: 3,
    sql: `
      ALTER TABLE idempotency ADD COLUMN owner text;
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
    version     integer PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
  )`);
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
      await tx.query('INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)', [m.version, clock.now()]);
    });
  }
  return SCHEMA_VERSION;
}
