// Issue 12, findings 2, 3 and 4: an intruder who can write ledger.db (but has no CA passphrase)
// edits it with SQL. Each attack is shown detected by `audit --verify` and refused by the
// commands that would act on it (crl, revoke, issue-client, check --repair), with the ledger
// and every file left as they were.
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { eventHash, GENESIS_HASH } from "../../src/ledger/ledger.js";
import { MIGRATIONS } from "../../src/ledger/sqlite/migrations.js";
import { type Anchor, HistoryAuthenticator, makeAnchor } from "../../src/ca/history.js";
import { historyKeyFromPkcs8 } from "../../src/crypto/history-key.js";
import { decryptPrivateKey } from "../../src/crypto/sealing.js";
import { initHome, openssl, PASSPHRASE, pki, pkiJson, snapshot, tempDir } from "../helpers.js";
import { startServe } from "../server/helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
const marker = join(work.dir, "hook-ran");
pkiJson(home, ["config", "set", "crl-lifetime", "7d"]);
pkiJson(home, ["hook", "set", "crl", `touch ${marker}-legit`]);
pkiJson(home, ["issue-client", "alice"]);
pkiJson(home, ["issue-client", "bob"]);
pkiJson(home, ["issue-client", "carol"]);
pkiJson(home, ["revoke", "alice"]);
pkiJson(home, ["config", "set", "ocsp-lifetime", "10m"]); // the newest event: one that changes no certificate or CRL

let copies = 0;
/** A copy of the whole home (ledger, anchor, outputs), its ledger then edited with raw SQL the way an intruder would. */
function attacked(sql: string | ((db: Database.Database) => void)): string {
  const h = join(work.dir, `copy-${++copies}`);
  cpSync(home, h, { recursive: true });
  const db = new Database(join(h, "ledger.db"));
  if (typeof sql === "string") db.exec(sql);
  else sql(db);
  db.close();
  return h;
}

/** Every row of every table, blobs as hex: what "the ledger is unchanged" means. */
function ledgerRows(h: string): string {
  const db = new Database(join(h, "ledger.db"), { readonly: true });
  try {
    const tables = ["certificates", "crls", "events", "settings", "roles"];
    return JSON.stringify(tables.map((t) => db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString("hex") : v));
  } finally {
    db.close();
  }
}

/** The home's files apart from SQLite's own -wal/-shm (which a refused write may touch without changing any row). */
function files(h: string): Record<string, string> {
  return Object.fromEntries(Object.entries(snapshot(h)).filter(([p]) => !/ledger\.db(-wal|-shm)?$/.test(p)));
}

/** Recomputes every event's hash from `fromId` on, as someone who knows the (public) chain rule but not the history key would. */
function rechain(db: Database.Database): void {
  const rows = db.prepare("SELECT id, at, actor, action, serial, details FROM events ORDER BY id").all() as { id: number; at: string; actor: string; action: string; serial: string | null; details: string }[];
  let prev = GENESIS_HASH;
  const update = db.prepare("UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?");
  for (const r of rows) {
    const hash = eventHash(prev, r.at, r.actor, r.action, r.serial, r.details);
    update.run(prev, hash, r.id);
    prev = hash;
  }
}

/** A self-signed root whose key the intruder holds, inserted as a trusted (not retired) root beside the current one. */
function insertIntruderRoot(db: Database.Database): void {
  const der = join(work.dir, `evil-${copies}.der`);
  const made = openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(work.dir, `evil-${copies}.key`), "-subj", "/CN=Evil Root", "-days", "30", "-outform", "DER", "-out", der]);
  assert.equal(made.status, 0, made.stderr);
  db.prepare(
    `INSERT INTO certificates (serial, name, name_key, kind, subject, not_before, not_after, der, state, created_at, issuer)
     VALUES ('e1e1e1e1', 'Evil Root', 'evil root', 'root', 'CN=Evil Root', '2026-01-01T00:00:00.000Z', '2036-01-01T00:00:00.000Z', ?, 'superseded', '2099-01-01T00:00:00.000Z', NULL)`,
  ).run(readFileSync(der));
}

const UNREVOKE_ALICE = `UPDATE certificates SET state = 'active', revoked_at = NULL, revocation_reason = NULL WHERE name = 'alice'`;

/** Each attack, and what audit --verify says about it (with the passphrase). */
const attacks: [string, string | ((db: Database.Database) => void), RegExp][] = [
  ["finding 2: un-revoking a certificate", UNREVOKE_ALICE, /"alice"\) was revoked by event \d+ but the ledger says it is active: un-revoked outside pki/],
  ["finding 2: a revoked certificate set to superseded", `UPDATE certificates SET state = 'superseded' WHERE name = 'alice'`, /"alice"\) was revoked by event \d+ but the ledger says it is superseded/],
  ["finding 2: a revoked certificate set to an unknown state", `PRAGMA ignore_check_constraints = ON; UPDATE certificates SET state = 'unknown' WHERE name = 'alice'`, /"alice"\) has the state "unknown", which pki never writes/],
  ["finding 3: the newest CRL deleted", `DELETE FROM crls WHERE number = (SELECT MAX(number) FROM crls)`, /CRL #2 \(event \d+\) is missing from the ledger, whose newest is #1: CRLs were deleted/],
  ["finding 3: the newest CRL and its event deleted, alice un-revoked", `${UNREVOKE_ALICE}; DELETE FROM crls WHERE number = (SELECT MAX(number) FROM crls); DELETE FROM events WHERE id >= (SELECT id FROM events WHERE action = 'revoked')`, /is missing \(the log ends at event \d+\): events were deleted/],
  ["finding 4: the last event deleted", `DELETE FROM events WHERE id = (SELECT MAX(id) FROM events)`, /the newest when pki last wrote ledger\.anchor, is missing/],
  ["finding 4: the revocation's event deleted, alice un-revoked, every hash recomputed", (db) => {
    db.exec(`${UNREVOKE_ALICE}; DELETE FROM events WHERE action = 'revoked'`);
    rechain(db);
  }, /carries a MAC this CA did not make: it was forged or edited and its hashes recomputed/],
  ["finding 4: a name edited and every hash recomputed", (db) => {
    db.exec(`UPDATE certificates SET name = 'mallory' WHERE name = 'bob'; UPDATE events SET details = replace(details, '"bob"', '"mallory"')`);
    rechain(db);
  }, /carries a MAC this CA did not make/],
  ["finding 4: the CRL hook replaced", `UPDATE settings SET value = 'touch ${marker}' WHERE key = 'hooks.crl'`, /setting hooks\.crl is "touch .*hook-ran" in the ledger but "touch .*hook-ran-legit" in the history: changed outside pki/],
  ["finding 4: a setting changed", `UPDATE settings SET value = '3650d' WHERE key = 'config.crl-lifetime'`, /setting config\.crl-lifetime is "3650d" in the ledger but "7d" in the history/],
  // The API trusts roles on every request: an admin row slipped in would let its holder issue and revoke.
  ["an API role granted outside pki", `INSERT INTO roles (name_key, name, role) VALUES ('carol', 'carol', 'admin')`, /"carol" has the role admin with no role-set event granting it/],
  // Every trusted root goes into ca.pem, the API's client CAs and the OCSP issuers: the intruder's own would be trusted.
  ["a root of the intruder's added to the ledger", insertIntruderRoot, /certificate [0-9a-f]+ \("Evil Root"\) has no event that created it/],
  ["the root retired outside pki", `UPDATE certificates SET retired_at = '2026-01-01T00:00:00.000Z' WHERE kind = 'root'`, /root [0-9a-f]+ \("Test Root CA"\) is retired in the ledger but trusted in the history/],
  ["finding 4: every MAC stripped", `UPDATE events SET mac = NULL`, /the newest when pki last wrote|carries no valid MAC|does not follow/],
];

test("an untouched history verifies with the passphrase, and says it is only consistent without one", () => {
  const r = pkiJson<{ ok: boolean; authenticated: boolean; anchor: string; legacyEvents: number }>(home, ["audit", "--verify"]);
  assert.deepEqual([r.ok, r.authenticated, r.anchor, r.legacyEvents], [true, true, "verified", 0]);
  const bare = pki(home, ["audit", "--verify"], { PKI_PASSPHRASE: undefined });
  assert.equal(bare.status, 0, bare.stderr);
  assert.match(bare.stdout, /consistent, but not authenticated/);
  const json = pkiJson<{ ok: boolean; authenticated: boolean; anchor: string }>(home, ["audit", "--verify"], { PKI_PASSPHRASE: undefined });
  assert.deepEqual([json.ok, json.authenticated, json.anchor], [true, false, "consistent"]);
  assert.ok(pkiJson<{ mac: string | null }[]>(home, ["audit"]).every((e) => /^[0-9a-f]{64}$/.test(e.mac ?? "")), "every event carries a MAC");
});

for (const [what, sql, why] of attacks) {
  test(`${what}: audit --verify reports it; crl, revoke, issue-client and check --repair refuse, changing nothing`, () => {
    const h = attacked(sql);
    const audit = pki(h, ["audit", "--verify"]);
    assert.equal(audit.status, 8, audit.stdout + audit.stderr);
    assert.match(audit.stdout, why);
    const rows = ledgerRows(h);
    const before = files(h);
    for (const args of [["crl"], ["revoke", "carol"], ["issue-client", "dave"]]) {
      const r = pki(h, ["--json", ...args]);
      assert.equal(r.status, 7, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(JSON.parse(r.stdout).error.code, /^(LEDGER_TAMPERED|ANCHOR_MISSING)$/);
      assert.match(r.stderr, /the ledger does not match its authenticated history: .*; nothing was changed/);
    }
    const repair = pki(h, ["--json", "check", "--repair"]);
    assert.equal(repair.status, 8, repair.stderr);
    assert.ok((JSON.parse(repair.stdout) as { findings: { message: string }[] }).findings.some((f) => /^nothing was repaired: the ledger does not match/.test(f.message)), repair.stdout);
    assert.equal(ledgerRows(h), rows, "the ledger is unchanged");
    assert.deepEqual(files(h), before, "every file is unchanged (crl.pem included)");
    assert.equal(existsSync(marker), false, "no hook ran");
  });
}

test("pki serve (and with it the API) refuses to start on a ledger holding a root pki never made", async () => {
  const h = attacked(insertIntruderRoot);
  const rows = ledgerRows(h);
  await assert.rejects(startServe(h), (e: Error) => {
    assert.match(e.message, /exited 7/);
    assert.match(e.message, /the ledger does not match its authenticated history: root e1e1e1e1 is trusted with SHA-256 [0-9a-f]{16}… in the ledger but absent in the history: changed outside pki/);
    return true;
  });
  assert.equal(ledgerRows(h), rows);
});

/** Rewrites the home's anchor as pki wrote it before anchors recorded roots (MAC'd with the history key, without `roots`). */
async function withLegacyAnchor(h: string): Promise<void> {
  const db = new Database(join(h, "ledger.db"), { readonly: true });
  const root = db.prepare("SELECT key_encrypted FROM certificates WHERE kind = 'root' ORDER BY created_at LIMIT 1").get() as { key_encrypted: Buffer };
  db.close();
  const key = historyKeyFromPkcs8(await decryptPrivateKey(new Uint8Array(root.key_encrypted), PASSPHRASE));
  const anchor = JSON.parse(readFileSync(join(h, "ledger.anchor"), "utf8")) as Anchor;
  delete anchor.roots;
  writeFileSync(join(h, "ledger.anchor"), JSON.stringify(makeAnchor(new HistoryAuthenticator(key), anchor)) + "\n");
}

test("an anchor written before anchors recorded roots still vouches for them, from the history; the next change records them", async () => {
  const clean = attacked(() => {});
  await withLegacyAnchor(clean);
  assert.equal(pki(clean, ["crl"]).status, 0, "the roots agree with the history");
  assert.ok((JSON.parse(readFileSync(join(clean, "ledger.anchor"), "utf8")) as Anchor).roots, "the new anchor records the roots");
  const evil = attacked(insertIntruderRoot);
  await withLegacyAnchor(evil);
  const r = pki(evil, ["--json", "crl"]);
  assert.equal(r.status, 7, r.stderr);
  assert.equal(JSON.parse(r.stdout).error.code, "LEDGER_TAMPERED");
  assert.match(r.stderr, /root e1e1e1e1 is trusted .* in the ledger but absent in the history/);
});

test("finding 3: after the newest CRL row is deleted, crl.pem keeps the newer CRL (numbers only move forward)", () => {
  const h = attacked(`DELETE FROM crls WHERE number = (SELECT MAX(number) FROM crls)`);
  const number = () => Number(/X509v3 CRL Number: \s*\n\s+(\d+)/.exec(openssl(["crl", "-in", join(h, "crl.pem"), "-noout", "-text"]).stdout)![1]);
  assert.equal(number(), 2);
  rmSync(join(h, "ledger.anchor")); // even without the anchor: crl.pem itself is newer than the ledger
  for (const args of [["issue-client", "dave"], ["crl"], ["check", "--repair"]]) {
    const r = pki(h, args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.equal(number(), 2, `${args.join(" ")} left CRL #2 in place`);
  }
});

test("without the passphrase a change that must append an event is refused: pki config set and hook set need the CA key", () => {
  const h = attacked(() => {});
  const rows = ledgerRows(h);
  for (const args of [["config", "set", "crl-lifetime", "1d"], ["hook", "set", "crl", "true"], ["hook", "clear", "crl"]]) {
    const r = pki(h, ["--json", ...args], { PKI_PASSPHRASE: undefined });
    assert.equal(r.status, 5, r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, "NO_SECRET");
  }
  const wrong = pki(h, ["--json", "hook", "set", "crl", "true"], { PKI_PASSPHRASE: "not the passphrase" });
  assert.equal(JSON.parse(wrong.stdout).error.code, "BAD_PASSPHRASE");
  assert.equal(ledgerRows(h), rows);
});

test("the history key is derived from the root key, not the passphrase: a passphrase change keeps the history verifiable", () => {
  const h = attacked(() => {});
  const next = "a brand new passphrase for the CA";
  pkiJson(h, ["passphrase", "change"], { PKI_NEW_PASSPHRASE: next });
  const r = pkiJson<{ ok: boolean; authenticated: boolean }>(h, ["audit", "--verify"], { PKI_PASSPHRASE: next });
  assert.deepEqual([r.ok, r.authenticated], [true, true]);
  pkiJson(h, ["revoke", "bob"], { PKI_PASSPHRASE: next });
});

test("a home copied without ledger.anchor: changes are refused until check --repair verifies the whole history and anchors it again", () => {
  const h = attacked(() => {});
  rmSync(join(h, "ledger.anchor"));
  const audit = pki(h, ["audit", "--verify"]);
  assert.equal(audit.status, 8);
  assert.match(audit.stdout, /ledger\.anchor is missing, so deleting the newest events would not show/);
  const issue = pki(h, ["--json", "issue-client", "dave"]);
  assert.equal(issue.status, 7);
  assert.equal(JSON.parse(issue.stdout).error.code, "ANCHOR_MISSING");
  const repair = pki(h, ["check", "--repair"]);
  assert.equal(repair.status, 0, repair.stdout);
  assert.ok(existsSync(join(h, "ledger.anchor")));
  pkiJson(h, ["issue-client", "dave"]);
  assert.equal(pkiJson<{ ok: boolean }>(h, ["audit", "--verify"]).ok, true);
});

/** The schema step that added event MACs, and what undoes the (root rotation) step after it: a ledger is put back to just before MACs. */
const MAC_STEP = MIGRATIONS.findIndex((step) => step.includes("ADD COLUMN mac"));
const UNDO_ROOT_ROTATION_STEP = "DROP INDEX certificates_roots; DROP INDEX certificates_issuer; DROP INDEX crls_issuer; ALTER TABLE certificates DROP COLUMN issuer; ALTER TABLE certificates DROP COLUMN retired_at; ALTER TABLE crls DROP COLUMN issuer;";

test("a ledger from before authenticated history: the first change verifies it, seals it with one event, and MACs everything after", () => {
  const h = attacked((db) => db.exec(`${UNDO_ROOT_ROTATION_STEP} ALTER TABLE events DROP COLUMN mac; PRAGMA user_version = ${MAC_STEP}`));
  rmSync(join(h, "ledger.anchor"));
  const events = pkiJson<unknown[]>(home, ["audit"]).length;
  pkiJson(h, ["crl"]);
  const log = pkiJson<{ action: string; mac: string | null; details: Record<string, unknown> }[]>(h, ["audit"]);
  assert.equal(log.length, events + 2);
  assert.ok(log.slice(0, events).every((e) => e.mac === null));
  assert.equal(log[events]!.action, "history-sealed");
  assert.equal(log[events]!.details.legacyEvents, events);
  assert.ok(log.slice(events).every((e) => e.mac !== null));
  const r = pkiJson<{ ok: boolean; legacyEvents: number; anchor: string }>(h, ["audit", "--verify"]);
  assert.deepEqual([r.ok, r.legacyEvents, r.anchor], [true, events, "verified"]);
  assert.match(pki(h, ["audit", "--verify"]).stdout, new RegExp(`note  the first ${events} events predate authenticated history`));
});

test("a legacy ledger un-revoked before its first keyed change is not sealed: the change is refused", () => {
  const h = attacked((db) => db.exec(`${UNDO_ROOT_ROTATION_STEP} ALTER TABLE events DROP COLUMN mac; PRAGMA user_version = ${MAC_STEP}; ${UNREVOKE_ALICE}`));
  rmSync(join(h, "ledger.anchor"));
  const r = pki(h, ["--json", "crl"]);
  assert.equal(r.status, 7, r.stderr);
  assert.equal(JSON.parse(r.stdout).error.code, "LEDGER_TAMPERED");
  assert.match(r.stderr, /"alice"\) was revoked by event \d+ but the ledger says it is active/);
  assert.equal(pkiJson<{ action: string }[]>(h, ["audit"]).some((e) => e.action === "history-sealed"), false);
});

test("an anchor from another CA, or edited, is refused", () => {
  const other = initHome();
  try {
    const h = attacked(() => {});
    cpSync(join(other.home, "ledger.anchor"), join(h, "ledger.anchor"));
    const r = pki(h, ["--json", "crl"]);
    assert.equal(JSON.parse(r.stdout).error.code, "LEDGER_TAMPERED");
    assert.match(r.stderr, /ledger\.anchor was not written by this CA/);
  } finally {
    other.cleanup();
  }
  const h = attacked(UNREVOKE_ALICE);
  const anchor = JSON.parse(readFileSync(join(h, "ledger.anchor"), "utf8")) as { revoked: { count: number } };
  anchor.revoked.count -= 1; // what the un-revoked ledger now holds
  writeFileSync(join(h, "ledger.anchor"), JSON.stringify(anchor));
  assert.match(pki(h, ["crl"]).stderr, /ledger\.anchor was not written by this CA/);
});
