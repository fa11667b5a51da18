// pki migrate between the engines, on a private PostgreSQL cluster: a SQLite ledger of 10,000
// certificates and 1,000 revocations (filled with SQL, every row with its MAC'd event, as the CA
// holder would have made them one by one) into PostgreSQL and back, rows and chain equal both
// ways; a target that holds a ledger is refused and left as it was.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { HistoryAuthenticator } from "../../src/ca/history.js";
import { nameKey } from "../../src/ca/names.js";
import { historyKeyFromPkcs8 } from "../../src/crypto/history-key.js";
import { decryptPrivateKey } from "../../src/crypto/sealing.js";
import { eventHash } from "../../src/ledger/ledger.js";
import { initHome, PASSPHRASE, pki, pkiJson, ROOT, tempDir } from "../helpers.js";
import { type PgCluster, startCluster } from "../postgres-cluster.js";

const CERTIFICATES = 10_000;
const REVOKED = 1_000;
const TABLES = ["certificates", "crls", "events", "settings", "roles"];

let cluster: PgCluster;
let home: string;
let cleanup: () => void;
const work = tempDir("pki-migrate-");
before(() => {
  cluster = startCluster();
  ({ home, cleanup } = initHome());
});
after(() => {
  cluster.remove();
  cleanup();
  work.cleanup();
});

/**
 * Adds `count` client certificates (the DER of a real one, reused) with an "issued" event each,
 * and revokes the first `revoked` with a "revoked" event each: hash-chained and MAC'd with the
 * CA's history key.
 */
async function fill(ledger: string, count: number, revoked: number): Promise<void> {
  const db = new Database(ledger);
  const root = db.prepare("SELECT key_encrypted FROM certificates WHERE kind = 'root'").get() as { key_encrypted: Buffer };
  const auth = new HistoryAuthenticator(historyKeyFromPkcs8(await decryptPrivateKey(new Uint8Array(root.key_encrypted), PASSPHRASE)));
  const template = db.prepare("SELECT der, not_before, not_after FROM certificates WHERE name = 'template'").get() as { der: Buffer; not_before: string; not_after: string };
  let { id, hash } = db.prepare("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").get() as { id: number; hash: string };
  const cert = db.prepare(`INSERT INTO certificates (serial, name, name_key, kind, subject, not_before, not_after, der, state, revoked_at, revocation_reason, created_at) VALUES (?, ?, ?, 'client', ?, ?, ?, ?, ?, ?, ?, ?)`);
  const event = db.prepare("INSERT INTO events (id, at, actor, action, serial, details, prev_hash, hash, mac) VALUES (?, ?, 'fixture', ?, ?, ?, ?, ?, ?)");
  const append = (at: string, action: string, serial: string, details: Record<string, unknown>) => {
    const text = JSON.stringify(details);
    const next = eventHash(hash, at, "fixture", action, serial, text);
    event.run(++id, at, action, serial, text, hash, next, auth.eventMac(next));
    hash = next;
  };
  const at = new Date().toISOString();
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const serial = (0x7000_0000 + i).toString(16).padStart(32, "0");
      const name = `bulk${i}`;
      const isRevoked = i < revoked;
      cert.run(serial, name, nameKey(name), `CN=${name}`, template.not_before, template.not_after, template.der, isRevoked ? "revoked" : "active", isRevoked ? at : null, isRevoked ? 1 : null, at);
      append(at, "issued", serial, { name, kind: "client" });
      if (isRevoked) append(at, "revoked", serial, { name, reason: 1 });
    }
  })();
  db.close();
}

async function pgRows(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

function sqliteRows(file: string, sql: string): Record<string, unknown>[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

let last = performance.now();
function lap(what: string): void {
  console.log(`# ${what}: ${((performance.now() - last) / 1000).toFixed(1)} s`);
  last = performance.now();
}

const COUNTS = `SELECT ${TABLES.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(", ")}`;
const CHAIN = "SELECT id, prev_hash, hash, mac FROM events ORDER BY id";
const CERTS = "SELECT serial, name, state, revoked_at, revocation_reason, superseded_by FROM certificates ORDER BY serial";
/** node-postgres returns int8 (ids, counts) as strings; SQLite as numbers. */
const INT8 = new Set(["id", ...TABLES]);
const numbers = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, INT8.has(k) && typeof v === "string" ? Number(v) : v]));

test(`migrate ${CERTIFICATES} certificates and ${REVOKED} revocations to PostgreSQL and back: rows and chain equal both ways; non-empty targets refused`, async () => {
  pkiJson(home, ["issue-client", "template"]);
  pkiJson(home, ["issue-server", "api.internal"]);
  pkiJson(home, ["role", "set", "template", "admin"]);
  pkiJson(home, ["config", "set", "crl-lifetime", "10d"]);
  const ledger = join(home, "ledger.db");
  await fill(ledger, CERTIFICATES, REVOKED);
  // Anchored as the CA holder would have (the bench fixtures' script), not by check --repair, which would write 10,000 files.
  execFileSync(process.execPath, [join(ROOT, "dist", "test", "bench", "reanchor.js"), home], { env: { PATH: process.env.PATH ?? "", PKI_PASSPHRASE: PASSPHRASE } });
  const audited = pki(home, ["audit", "--verify"]);
  assert.equal(audited.status, 0, audited.stdout + audited.stderr);
  lap("filled and anchored");

  const url = await cluster.createDatabase();
  const withPassword = pki(home, ["--json", "migrate", "--to", url.replace("pki@", "pki:secret@")]);
  assert.equal(withPassword.status, 2);
  assert.equal(JSON.parse(withPassword.stdout).error.code, "SECRET_IN_ARGUMENTS");

  const there = pkiJson<{ engine: string; rows: Record<string, number>; events: number }>(home, ["migrate", "--to", url]);
  assert.equal(there.engine, "postgres");
  const sqliteCounts = sqliteRows(ledger, COUNTS)[0]!;
  assert.deepEqual(there.rows, sqliteCounts);
  assert.equal(there.rows.certificates, CERTIFICATES + 3);
  lap("migrated to PostgreSQL");
  assert.deepEqual(numbers((await pgRows(url, COUNTS))[0]!), sqliteCounts);
  assert.deepEqual((await pgRows(url, CHAIN)).map(numbers), sqliteRows(ledger, CHAIN), "the same chain, MACs included");
  assert.deepEqual((await pgRows(url, CERTS)).map(numbers), sqliteRows(ledger, CERTS));
  assert.equal(existsSync(join(home, "database")), false, "the home keeps its own ledger");

  const again = pki(home, ["--json", "migrate", "--to", url]);
  assert.equal(again.status, 4, again.stderr);
  assert.equal(JSON.parse(again.stdout).error.code, "MIGRATE_TARGET_NOT_EMPTY");
  assert.deepEqual(numbers((await pgRows(url, COUNTS))[0]!), sqliteCounts, "the refused target is as it was");

  // The copy is a working ledger: a new home joins it, its history verifies, it issues.
  const node = join(work.dir, "node");
  pkiJson(node, ["join"], { PKI_DATABASE_URL: url });
  assert.equal(pki(node, ["audit", "--verify"]).status, 0);
  assert.equal(pkiJson<{ status: string }>(node, ["show", "bulk5"]).status, "revoked");
  pkiJson(node, ["issue-client", "after-migrate"]);
  lap("joined");

  const back = join(work.dir, "back.db");
  const returned = pkiJson<{ engine: string; rows: Record<string, number> }>(node, ["migrate", "--to", back]);
  assert.equal(returned.engine, "sqlite");
  lap("migrated back");
  const pgCounts = numbers((await pgRows(url, COUNTS))[0]!);
  assert.deepEqual(returned.rows, pgCounts);
  assert.deepEqual(sqliteRows(back, COUNTS)[0], pgCounts);
  assert.deepEqual(sqliteRows(back, CHAIN), (await pgRows(url, CHAIN)).map(numbers));
  assert.deepEqual(sqliteRows(back, CERTS), (await pgRows(url, CERTS)).map(numbers));

  const existing = pki(node, ["--json", "migrate", "--to", back]);
  assert.equal(existing.status, 4);
  assert.equal(JSON.parse(existing.stdout).error.code, "MIGRATE_TARGET_NOT_EMPTY");
  assert.deepEqual(sqliteRows(back, COUNTS)[0], pgCounts);
});
