import assert from "node:assert/strict";
import { copyFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { MIGRATIONS } from "../../src/ledger/sqlite/migrations.js";
import { initHome, openssl, PASSIN, pki, pkiJson } from "../helpers.js";

// A ledger from before the one-name rule (the schema before its step), holding what pki used to allow: a
// server certificate and then a client certificate under one name, the client's files
// written over the server's.
const { home, cleanup } = initHome();
after(cleanup);
const NAME = "intranet.example.com";
/** The position of the schema step that added name_key: the ledger is put back to just before it. */
const NAME_KEY_STEP = MIGRATIONS.findIndex((step) => step.includes("ADD COLUMN name_key"));
const server = pkiJson<{ serial: string; certificate: string; key: string }>(home, ["issue-server", NAME]);
const client = pkiJson<{ serial: string; certificate: string; key: string }>(home, ["issue-client", "stand-in"]);
{
  const db = new Database(join(home, "ledger.db"));
  // Back to the schema before the name rule, which also predates event MACs and the anchor.
  db.exec(`DROP INDEX certificates_roots; DROP INDEX certificates_issuer; DROP INDEX crls_issuer; ALTER TABLE certificates DROP COLUMN issuer; ALTER TABLE certificates DROP COLUMN retired_at; ALTER TABLE crls DROP COLUMN issuer;
           DROP TRIGGER certificates_one_active_per_name; DROP INDEX certificates_name_key; ALTER TABLE certificates DROP COLUMN name_key;
           DROP TABLE roles; ALTER TABLE events DROP COLUMN mac; PRAGMA user_version = ${NAME_KEY_STEP};`);
  db.prepare("UPDATE certificates SET name = ? WHERE serial = ?").run(NAME, client.serial);
  db.close();
  rmSync(join(home, "ledger.anchor"));
  copyFileSync(client.certificate, server.certificate);
  copyFileSync(client.key, server.key);
}

interface Finding {
  check: string;
  level: string;
  message: string;
  repaired?: boolean;
}

test("the old ledger still opens (migrated by the first command that writes), and check reports the two certificates claiming one name", () => {
  pkiJson(home, ["crl"]);
  assert.equal(pkiJson<unknown[]>(home, ["list"]).length, 3);
  const r = pki(home, ["--json", "check"]);
  assert.equal(r.status, 8, r.stderr);
  const names = (JSON.parse(r.stdout) as { findings: Finding[] }).findings.filter((f) => f.check === "names");
  assert.equal(names.length, 1);
  assert.equal(names[0]!.level, "error");
  assert.match(names[0]!.message, new RegExp(`2 current certificates claim the name "${NAME}": server .*${server.serial}.*client .*${client.serial}`));
});

test("renew refuses while the name is claimed twice; a new issuance is refused too", () => {
  const renew = pki(home, ["renew", NAME]);
  assert.equal(renew.status, 4, renew.stderr);
  assert.match(renew.stderr, /a name must identify one certificate; resolve it with: pki check --repair/);
  assert.equal(pki(home, ["issue-client", NAME]).status, 4);
});

test("check --repair keeps the first valid one (the server), supersedes the client, rewrites its files; check is then clean", () => {
  const r = pki(home, ["--json", "check", "--repair"]);
  const findings = (JSON.parse(r.stdout) as { findings: Finding[] }).findings;
  assert.ok(findings.some((f) => f.check === "names" && f.repaired === true), r.stdout);
  const again = pkiJson<{ ok: boolean; findings: Finding[] }>(home, ["check"]);
  assert.equal(again.ok, true, JSON.stringify(again.findings.filter((f) => f.level !== "ok")));
  assert.equal(readFileSync(join(home, "certs", `${NAME}.pem`), "utf8"), pkiJson<{ pem: string }>(home, ["show", server.serial]).pem);
  const keyPub = openssl(["pkey", "-in", join(home, "private", `${NAME}.key`), "-passin", PASSIN, "-pubout"]).stdout;
  assert.equal(keyPub, openssl(["x509", "-in", join(home, "certs", `${NAME}.pem`), "-noout", "-pubkey"]).stdout, "key and certificate match again");
  const c = pkiJson<{ status: string; supersededBy: string }>(home, ["show", client.serial]);
  assert.deepEqual([c.status, c.supersededBy], ["superseded", server.serial]);
  assert.equal(pkiJson<{ ok: boolean }>(home, ["audit", "--verify"]).ok, true);
  assert.equal(pki(home, ["renew", NAME]).status, 0, "renew reaches the one certificate left");
});
