import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, pki, pkiJson, snapshot } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);
const ca = join(home, "ca.pem");
const crl = join(home, "crl.pem");

function verify(certificate: string): { ok: boolean; output: string } {
  const r = openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, certificate]);
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

function listedInCrl(serial: string): boolean {
  return openssl(["crl", "-in", crl, "-noout", "-text"]).stdout.includes(`Serial Number: ${serial.toUpperCase()}`);
}

interface Issued {
  serial: string;
  certificate: string;
}

test("unrevoke NAME releases a certificateHold: an unrevoked event, a new CRL without the entry, openssl accepts it again", () => {
  const alice = pkiJson<Issued>(home, ["issue-client", "alice"]);
  pkiJson(home, ["revoke", "alice", "--reason", "certificateHold"]);
  assert.match(verify(alice.certificate).output, /certificate revoked/);
  assert.ok(listedInCrl(alice.serial));
  const before = pkiJson<{ number: number }>(home, ["crl"]).number;
  const j = pkiJson<{ released: { serial: string; status: string; heldSince: string }[]; crlNumber: number }>(home, ["unrevoke", "alice"]);
  assert.deepEqual(j.released.map((c) => [c.serial, c.status]), [[alice.serial, "valid"]]);
  assert.equal(j.crlNumber, before + 1);
  assert.ok(!listedInCrl(alice.serial), "the CRL drops the entry");
  assert.ok(verify(alice.certificate).ok, "openssl verify -crl_check accepts alice again");
  assert.equal(pkiJson<{ status: string; revokedAt: string | null }>(home, ["show", "alice"]).status, "valid");
  const events = pkiJson<{ action: string; serial: string; details: Record<string, unknown> }[]>(home, ["audit"]);
  const ev = events.find((e) => e.action === "unrevoked")!;
  assert.equal(ev.serial, alice.serial);
  assert.deepEqual(ev.details, { name: "alice", reason: "certificateHold", heldSince: j.released[0]!.heldSince });
  // The release is part of the authenticated history: the MACs and the anchor's revocation digest agree with it.
  const audit = pkiJson<{ ok: boolean; authenticated: boolean }>(home, ["audit", "--verify"]);
  assert.deepEqual([audit.ok, audit.authenticated], [true, true]);
  const check = pki(home, ["check"]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  // Held again later, and released by serial this time.
  pkiJson(home, ["revoke", alice.serial, "--reason", "certificateHold"]);
  const r = pki(home, ["unrevoke", alice.serial]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Released the hold on "CN=alice" \\(serial ${alice.serial}, held since .* UTC\\): valid\\.`));
  assert.ok(verify(alice.certificate).ok);
});

test("a name's held certificates are all released, the superseded one staying superseded", () => {
  const old = pkiJson<Issued>(home, ["issue-client", "gina"]);
  const renewed = pkiJson<Issued>(home, ["renew", "gina"]);
  assert.equal(pkiJson<{ revoked: unknown[] }>(home, ["revoke", "gina", "--reason", "certificateHold"]).revoked.length, 2);
  const j = pkiJson<{ released: { serial: string; status: string }[] }>(home, ["unrevoke", "gina"]);
  assert.deepEqual(j.released.map((c) => [c.serial, c.status]), [[old.serial, "superseded"], [renewed.serial, "valid"]]);
  assert.ok(!listedInCrl(old.serial) && !listedInCrl(renewed.serial));
});

test("refused, with the ledger and every file as before: another reason (NOT_ON_HOLD), not revoked (NOT_REVOKED), unknown, the name held meanwhile by a new certificate (NAME_TAKEN)", () => {
  pkiJson(home, ["issue-client", "bob"]);
  pkiJson(home, ["revoke", "bob", "--reason", "keyCompromise"]);
  pkiJson(home, ["issue-client", "carol"]);
  const dave = pkiJson<Issued>(home, ["issue-client", "dave"]);
  pkiJson(home, ["revoke", "dave", "--reason", "certificateHold"]);
  const newDave = pkiJson<Issued>(home, ["issue-client", "dave"]);
  const eve = pkiJson<Issued>(home, ["issue-client", "eve"]);
  pkiJson(home, ["renew", "eve", "--revoke-old"]);
  const before = snapshot(home);
  const cases: [string[], number, string, RegExp][] = [
    [["unrevoke", "bob"], 6, "NOT_ON_HOLD", /"bob" \(serial [0-9a-f]+\) was revoked for keyCompromise: only a certificateHold can be released \(RFC 5280 5\.3\.1\)/],
    [["unrevoke", eve.serial], 6, "NOT_ON_HOLD", /was revoked for superseded/],
    [["unrevoke", "carol"], 4, "NOT_REVOKED", /"carol" \(serial [0-9a-f]+\) is not revoked \(active\)/],
    [["unrevoke", "nobody"], 3, "NOT_FOUND", /no certificate with name or serial "nobody"/],
    [["unrevoke", dave.serial], 4, "NAME_TAKEN", new RegExp(`releasing serial ${dave.serial} would give "dave" two current certificates: serial ${newDave.serial}`)],
  ];
  for (const [args, exit, code, why] of cases) {
    const r = pki(home, ["--json", ...args]);
    assert.equal(r.status, exit, `${args.join(" ")}: ${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, code, args.join(" "));
    assert.match(r.stderr, why);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
  assert.deepEqual(snapshot(home), before);
});

test("a release the anchor never saw (pki killed after the commit) is replayed by the next change, not taken for tampering", () => {
  pkiJson(home, ["issue-client", "hana"]);
  pkiJson(home, ["revoke", "hana", "--reason", "certificateHold"]);
  const killed = pki(home, ["unrevoke", "hana"], { PKI_CRASH_AT: "after-commit" });
  assert.equal(killed.status, -1, `unrevoke was not killed: ${killed.stderr}`);
  const crl1 = pki(home, ["--json", "crl"]);
  assert.equal(crl1.status, 0, crl1.stdout + crl1.stderr);

  // Held and released again, both after the newest anchor.
  assert.equal(pki(home, ["revoke", "hana", "--reason", "certificateHold"], { PKI_CRASH_AT: "after-commit" }).status, -1);
  assert.equal(pki(home, ["unrevoke", "hana"], { PKI_CRASH_AT: "after-commit" }).status, -1);
  const crl2 = pki(home, ["--json", "crl"]);
  assert.equal(crl2.status, 0, crl2.stdout + crl2.stderr);
  assert.ok(!listedInCrl(pkiJson<{ serial: string }>(home, ["show", "hana"]).serial));
  const audit = pkiJson<{ ok: boolean; authenticated: boolean }>(home, ["audit", "--verify"]);
  assert.deepEqual([audit.ok, audit.authenticated], [true, true]);
});
