import type { PoolClient } from "pg";
import { nameKey } from "../name-key.js";

/**
 * The PostgreSQL dialect of ../sqlite/migrations.ts, step for step (step N here does what
 * step N there does), so both engines hold the same schema version for the same pki. Applied
 * in order and tracked in pki_schema; never edit a shipped step, append one at the end, in
 * both files. A step is SQL, or SQL followed by a backfill that needs code (name_key).
 *
 * Dialect notes: BYTEA for BLOB; every text column that is sorted or compared by range is
 * COLLATE "C", so ISO times and hex serials order by bytes as in SQLite, whatever the
 * database's locale; `seq` is the recording order SQLite keeps in its rowid.
 */
export interface Step {
  sql: string;
  backfill?: (db: PoolClient) => Promise<void>;
}

export const MIGRATIONS: readonly Step[] = [
  {
    sql: `
    CREATE TABLE certificates (
      seq           BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
      serial        TEXT COLLATE "C" PRIMARY KEY,
      name          TEXT COLLATE "C" NOT NULL,
      kind          TEXT NOT NULL CHECK (kind IN ('root', 'client', 'server')),
      subject       TEXT NOT NULL,
      not_before    TEXT COLLATE "C" NOT NULL,
      not_after     TEXT COLLATE "C" NOT NULL,
      der           BYTEA NOT NULL,
      key_encrypted BYTEA,
      csr           BYTEA,
      state         TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'revoked', 'superseded')),
      revoked_at    TEXT COLLATE "C",
      revocation_reason INTEGER,
      superseded_by TEXT COLLATE "C" REFERENCES certificates(serial) DEFERRABLE INITIALLY DEFERRED,
      created_at    TEXT COLLATE "C" NOT NULL
    );
    CREATE UNIQUE INDEX certificates_active_name ON certificates(kind, name) WHERE state = 'active';
    CREATE INDEX certificates_name ON certificates(name);
    CREATE INDEX certificates_not_after ON certificates(not_after);
    CREATE INDEX certificates_revoked ON certificates(revoked_at) WHERE state = 'revoked';

    CREATE TABLE crls (
      number      BIGINT PRIMARY KEY,
      this_update TEXT NOT NULL,
      next_update TEXT NOT NULL,
      der         BYTEA NOT NULL
    );

    -- ids are drawn as MAX(id) + 1 under the write lock: gap-free like SQLite's AUTOINCREMENT
    -- after rollbacks, where a sequence would skip the numbers a rolled-back write took.
    CREATE TABLE events (
      id        BIGINT PRIMARY KEY,
      at        TEXT NOT NULL,
      actor     TEXT NOT NULL,
      action    TEXT NOT NULL,
      serial    TEXT,
      details   TEXT NOT NULL,
      prev_hash TEXT NOT NULL,
      hash      TEXT NOT NULL
    );
    `,
  },
  {
    sql: `
    CREATE TABLE settings (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );
    `,
  },
  {
    sql: `
    CREATE INDEX certificates_crl ON certificates(revoked_at, serial, revocation_reason) WHERE state = 'revoked';
    DROP INDEX certificates_revoked;
    `,
  },
  {
    // SQLite enforces one active certificate per folded name with a trigger, because its
    // ledgers from before this step may hold old pairs; a PostgreSQL ledger has no such past,
    // so here the rule is a partial unique index, which also covers updates.
    sql: `
    ALTER TABLE certificates ADD COLUMN name_key TEXT COLLATE "C";
    CREATE INDEX certificates_name_key ON certificates(name_key, state);
    `,
    backfill: async (db) => {
      const { rows } = await db.query<{ serial: string; name: string }>("SELECT serial, name FROM certificates");
      for (const r of rows) await db.query("UPDATE certificates SET name_key = $1 WHERE serial = $2", [nameKey(r.name), r.serial]);
      await db.query("CREATE UNIQUE INDEX certificates_one_active_per_name ON certificates(name_key) WHERE state = 'active'");
    },
  },
  {
    sql: `
    CREATE TABLE roles (
      name_key TEXT COLLATE "C" PRIMARY KEY,
      name     TEXT NOT NULL,
      role     TEXT NOT NULL CHECK (role IN ('admin'))
    );
    `,
  },
  {
    // Authenticated history: each event's MAC over its hash (see the SQLite step).
    sql: `
    ALTER TABLE events ADD COLUMN mac TEXT;
    `,
  },
  {
    // Root rotation (see the SQLite step).
    sql: `
    ALTER TABLE certificates ADD COLUMN issuer TEXT COLLATE "C";
    ALTER TABLE certificates ADD COLUMN retired_at TEXT;
    ALTER TABLE crls ADD COLUMN issuer TEXT COLLATE "C";
    UPDATE certificates SET issuer = (SELECT serial FROM certificates WHERE kind = 'root' ORDER BY created_at, seq LIMIT 1);
    UPDATE crls SET issuer = (SELECT serial FROM certificates WHERE kind = 'root' ORDER BY created_at, seq LIMIT 1);
    CREATE INDEX certificates_issuer ON certificates(issuer, state, not_after);
    CREATE INDEX crls_issuer ON crls(issuer, number);
    `,
  },
  {
    // The roots without a scan of every certificate (see the SQLite step).
    sql: `
    CREATE INDEX certificates_roots ON certificates(created_at, seq) WHERE kind = 'root';
    `,
  },
];
