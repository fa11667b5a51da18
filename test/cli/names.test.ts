import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { initHome, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

// One name, one certificate: the name is the files (certs/NAME.pem, private/NAME.key) and
// what people type to renew or revoke.
const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});

interface Issued {
  serial: string;
  certificate: string;
}

function refused(args: string[], why: RegExp): void {
  const before = snapshot(home);
  const r = pki(home, ["--json", ...args]);
  assert.equal(r.status, 4, `${args.join(" ")}: ${r.stderr}`);
  assert.match(r.stderr, why);
  assert.deepEqual(snapshot(home), before, `${args.join(" ")} changed nothing`);
}

pkiJson(home, ["issue-server", "intranet.example.com"]);
pkiJson(home, ["issue-client", "eve"]);

test("a client under a server's name, and a server under a client's name, are refused (NAME_TAKEN) with a hint to renew", () => {
  refused(["issue-client", "intranet.example.com"], /"intranet\.example\.com" already has a valid server certificate .*; to replace it run: pki renew intranet\.example\.com/);
  refused(["issue-server", "eve"], /"eve" already has a valid client certificate .*; to replace it run: pki renew eve/);
});

test("names differing only in case, Unicode form or case folding are one name", () => {
  pkiJson(home, ["issue-client", "straße"]);
  refused(["issue-client", "EVE"], /"EVE" is the same name as "eve" .*; to replace it run: pki renew eve/);
  refused(["issue-client", "Eve"], /same name as "eve"/);
  refused(["issue-client", "STRASSE"], /same name as "straße"/);
  refused(["issue-server", "EVE"], /same name as "eve"|already has a valid client certificate/);
  refused(["issue-client", "Intranet.Example.COM"], /same name as "intranet\.example\.com"/);
});

test("bulk --from: a name taken by any kind, or repeated in another case, refuses the batch", () => {
  const list = join(work.dir, "names.txt");
  for (const [text, code, why] of [
    ["ok-1\nintranet.example.com\n", 4, /line 2: "intranet\.example\.com" already has a valid server certificate/],
    ["ok-1\nEVE\n", 4, /line 2: "EVE" is the same name as "eve"/],
    ["dora\nok-2\nDORA\n", 2, /line 3: "DORA" is the same name as "dora" \(line 1\)/],
  ] as const) {
    writeFileSync(list, text);
    const before = snapshot(home);
    const r = pki(home, ["issue-client", "--from", list]);
    assert.equal(r.status, code, r.stderr);
    assert.match(r.stderr, why);
    assert.deepEqual(snapshot(home), before);
  }
});

test("an expired certificate of another kind makes way: the new one supersedes it", () => {
  // A 1-day server certificate, then the clock moved past it (PKI's clock is the system's; edit the row instead).
  const old = pkiJson<Issued>(home, ["issue-server", "old.example.com", "--days", "1"]);
  const db = new Database(join(home, "ledger.db"));
  db.prepare("UPDATE certificates SET not_after = '2020-01-01T00:00:00.000Z' WHERE serial = ?").run(old.serial);
  db.close();
  const fresh = pkiJson<Issued>(home, ["issue-client", "OLD.example.com"]);
  const shown = pkiJson<{ status: string; supersededBy: string }>(home, ["show", old.serial]);
  assert.deepEqual([shown.status, shown.supersededBy], ["superseded", fresh.serial]);
});

test("not found: did you mean a near name (typo, transposition, case)", () => {
  pkiJson(home, ["issue-client", "nobody"]);
  for (const [typed, near] of [["nobdy", "nobody"], ["nobdoy", "nobody"], ["NOBODY", "nobody"], ["intranet.exmaple.com", "intranet.example.com"]] as const) {
    const r = pki(home, ["show", typed]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, new RegExp(`no certificate with name or serial "${typed}"; did you mean "${near.replace(/\./g, "\\.")}"\\?`));
  }
  const far = pki(home, ["revoke", "zzzzzz"]);
  assert.equal(far.status, 3);
  assert.doesNotMatch(far.stderr, /did you mean/);
  assert.match(pki(home, ["renew", "nobdy"]).stderr, /no certificate named "nobdy"; did you mean "nobody"/);
});

test("the hint names the holder as the shell needs it", () => {
  pkiJson(home, ["issue-client", "Jean Dupont"]);
  refused(["issue-client", "JEAN DUPONT"], /to replace it run: pki renew 'Jean Dupont'$/m);
});
