import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { initHome, pki, pkiJson, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
pkiJson(home, ["issue-client", "alice"]);
pkiJson(home, ["issue-client", "bob"]);
pkiJson(home, ["revoke", "alice"]);

/** A copy of the home's ledger, edited with raw SQL the way an intruder would. */
function tampered(name: string, sql: string): string {
  const h = join(work.dir, name);
  pkiJson(h, ["init-root", "--cn", "scratch"]); // a home to hold the copy
  for (const f of ["ledger.db", "ledger.anchor", "crl.pem"]) copyFileSync(join(home, f), join(h, f));
  const db = new Database(join(h, "ledger.db"));
  db.exec(sql);
  db.close();
  return h;
}

test("an untouched log verifies, lists who did what, and prints its head hash", () => {
  const r = pki(home, ["audit", "--verify"]);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /The event log is intact and authenticated with the CA key: 6 events, head [0-9a-f]{64}/);
  const events = pkiJson<{ action: string; actor: string }[]>(home, ["audit"]);
  assert.deepEqual(events.map((e) => e.action), ["ca-created", "crl-generated", "issued", "issued", "revoked", "crl-generated"]);
  assert.ok(events.every((e) => e.actor.length > 0));
});

const cases: [string, string, RegExp][] = [
  ["edited details", `UPDATE events SET details = replace(details, 'alice', 'mallory') WHERE action = 'issued'`, /event 3 \(issued at .*\) was edited/],
  ["edited time", `UPDATE events SET at = '2020-01-01T00:00:00.000Z' WHERE id = 4`, /event 4 .* was edited/],
  ["deleted middle event", `DELETE FROM events WHERE id = 3`, /event 4 does not follow event 2/],
  ["reordered events", `UPDATE events SET id = 100 WHERE id = 3; UPDATE events SET id = 3 WHERE id = 4; UPDATE events SET id = 4 WHERE id = 100;`, /does not follow/],
  ["deleted last revocation", `DELETE FROM events WHERE id >= 5`, /is revoked with no revocation event/],
  ["certificate swapped in the table", `UPDATE certificates SET der = (SELECT der FROM certificates WHERE name = 'bob') WHERE name = 'alice'`, /differs from the one its event recorded/],
  ["silent un-revocation", `UPDATE certificates SET state = 'active', revoked_at = NULL WHERE name = 'alice'; DELETE FROM events WHERE action = 'revoked'`, /does not follow|was edited/],
];

for (const [what, sql, why] of cases) {
  test(`audit --verify detects: ${what}`, () => {
    const h = tampered(what.replace(/\W+/g, "-"), sql);
    const r = pki(h, ["audit", "--verify"]);
    assert.equal(r.status, 8, r.stdout + r.stderr);
    assert.match(r.stdout, why);
    assert.match(r.stdout, /The event log was tampered with/);
    const check = pki(h, ["check"]);
    assert.equal(check.status, 8, "check reports it too");
  });
}
