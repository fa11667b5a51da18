import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { Authority } from "../../src/ca/authority.js";
import { Home } from "../../src/ca/home.js";
import { initHome, PASSPHRASE, openssl, pki, pkiJson, ROOT, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
const P12 = { PKI_P12_PASSWORD: "pw" };

test("revoked certificates: every export refuses without --force (exit 6) and changes nothing; --force exports with a warning", () => {
  pkiJson(home, ["issue-client", "gone"]);
  pkiJson(home, ["revoke", "gone"]);
  const before = snapshot(home);
  const refusals: string[][] = [
    ["export-p12", "gone"],
    ["export-key", "gone", "--unencrypted", "--out", join(work.dir, "gone.key")],
    ["export-mobileconfig", "gone"],
  ];
  for (const args of refusals) {
    const r = pki(home, args, P12);
    assert.equal(r.status, 6, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /"gone" \(serial [0-9a-f]+\) was revoked on .*: servers refuse it; issue a new one with: pki renew gone \(or export it anyway with --force\)\n$/);
  }
  assert.deepEqual(snapshot(home), before);
  assert.ok(!existsSync(join(work.dir, "gone.key")), "export-key wrote nothing");

  const forced = pki(home, ["export-key", "gone", "--unencrypted", "--out", join(work.dir, "gone.key"), "--force"]);
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stderr, /^pki: warning: "gone" \(serial [0-9a-f]+\) was revoked on .*exporting it anyway \(--force\)/);
  assert.equal(openssl(["pkey", "-in", join(work.dir, "gone.key"), "-noout"]).status, 0);
});

test("the refusal's hint quotes the name for the shell, its date is the human one, and --json reports the code", () => {
  pkiJson(home, ["issue-client", "eve smith"]);
  pkiJson(home, ["revoke", "eve smith"]);
  const r = pki(home, ["export-p12", "eve smith"], P12);
  assert.equal(r.status, 6, r.stderr);
  assert.match(r.stderr, /was revoked on \d{4}-\d\d-\d\d \d\d:\d\d UTC: servers refuse it; issue a new one with: pki renew 'eve smith' \(or export it anyway with --force\)\n$/);
  const j = pki(home, ["--json", "export-p12", "eve smith"], P12);
  assert.equal(j.status, 6);
  const { error } = JSON.parse(j.stdout) as { error: { code: string; exitCode: number; hint: string } };
  assert.equal(error.code, "CERTIFICATE_REVOKED");
  assert.equal(error.exitCode, 6);
  assert.match(error.hint, /pki renew 'eve smith'/);
});

test("expired certificates are refused like revoked ones, with their own error code", async () => {
  pkiJson(home, ["issue-client", "old"]);
  const inTwoYears = new Date(Date.now() + 2 * 365 * 86_400_000);
  const authority = Authority.open({ home: new Home(home), templatesDir: join(ROOT, "templates"), actor: "test", passphrase: async () => PASSPHRASE, now: () => inTwoYears });
  try {
    for (const format of ["pkcs12", "key", "mobileconfig"] as const) {
      await assert.rejects(authority.exportCandidate("old", format, false), { code: "CERTIFICATE_EXPIRED", message: /"old" \(serial [0-9a-f]+\) expired on/ });
      const { warnings } = await authority.exportCandidate("old", format, true);
      assert.match(warnings.join(), /expired on .*exporting it anyway/);
    }
    await assert.rejects(authority.exportKey({ target: "old", out: join(work.dir, "old.key"), password: null }), { code: "CERTIFICATE_EXPIRED" });
    await assert.rejects(authority.exportCandidate("gone", "pkcs12", false), { code: "CERTIFICATE_REVOKED" });
  } finally {
    authority.close();
  }
});

test("a superseded certificate (by serial) exports with a warning naming its successor", () => {
  const first = pkiJson<{ serial: string }>(home, ["issue-client", "bob"]);
  const second = pkiJson<{ serial: string }>(home, ["renew", "bob"]);
  const r = pki(home, ["export-p12", first.serial, "--out", join(work.dir, "bob-old.p12")], P12);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`pki: warning: serial ${first.serial} of "bob" is superseded by ${second.serial}; "pki export-p12 bob" exports the current one`));
  const current = pki(home, ["export-p12", "bob", "--out", join(work.dir, "bob.p12")], P12);
  assert.equal(current.status, 0, current.stderr);
  assert.equal(current.stderr, "");
});

test("check flags .p12 and .mobileconfig files in the home that no longer hold the name's current certificate; --repair leaves them", () => {
  pkiJson(home, ["issue-client", "alice"]);
  pkiJson(home, ["export-p12", "alice"], P12);
  pkiJson(home, ["export-mobileconfig", "alice"], P12);
  const fresh = pkiJson<{ ok: boolean; findings: { check: string; level: string; message: string }[] }>(home, ["check"]);
  assert.deepEqual(fresh.findings.filter((f) => f.check === "exports").map((f) => f.level), ["ok"]);

  const renewed = pkiJson<{ serial: string; previous: { serial: string } }>(home, ["renew", "alice"]);
  const stale = pkiJson<{ ok: boolean; findings: { check: string; level: string; message: string; fix: string }[] }>(home, ["check"]);
  const flagged = stale.findings.filter((f) => f.check === "exports");
  assert.equal(flagged.length, 2, JSON.stringify(flagged));
  for (const f of flagged) {
    assert.equal(f.level, "warning");
    assert.match(f.message, new RegExp(`private/alice\\.(p12|mobileconfig) holds serial ${renewed.previous.serial} of "alice", which is superseded by ${renewed.serial}, not its current certificate`));
    assert.match(f.fix, /export it again: pki export-(p12|mobileconfig) alice \(overwrites it\); check --repair leaves export files alone/);
  }

  pkiJson(home, ["revoke", "alice"]);
  const files = [join(home, "private", "alice.p12"), join(home, "private", "alice.mobileconfig")];
  const contents = files.map((f) => readFileSync(f));
  const repaired = pki(home, ["check", "--repair"]);
  assert.match(repaired.stdout, /alice has no valid certificate: delete it \(rm .*alice\.p12\), or pki renew alice and export again/);
  assert.deepEqual(files.map((f) => readFileSync(f)), contents, "--repair never touches a user's export");
});
