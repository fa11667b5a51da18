import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, pki, pkiJson, snapshot, tempDir } from "../helpers.js";
import { pkiOnTerminal } from "./pty.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
const ca = join(home, "ca.pem");
const crl = join(home, "crl.pem");

interface Issued {
  serial: string;
  certificate: string;
}

/** A certificate's PEM in a file of its own (the superseded one's certs/NAME.pem was overwritten). */
function pemFile(serial: string): string {
  const file = join(work.dir, `${serial}.pem`);
  writeFileSync(file, pkiJson<{ pem: string }>(home, ["show", serial]).pem);
  return file;
}

function acceptedByOpenssl(serial: string): boolean {
  return openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, pemFile(serial)]).status === 0;
}

test("revoke NAME after renew (without --revoke-old): the superseded certificate is revoked too, in one CRL", () => {
  const first = pkiJson<Issued>(home, ["issue-client", "bob"]);
  const second = pkiJson<Issued>(home, ["renew", "bob"]);
  assert.ok(acceptedByOpenssl(first.serial) && acceptedByOpenssl(second.serial), "both work before");
  const crlBefore = pkiJson<{ number: number }>(home, ["crl"]).number;
  const j = pkiJson<{ serial: string; name: string; reason: string; crlNumber: number; revoked: { serial: string; kind: string; previousStatus: string }[] }>(home, ["revoke", "bob", "--reason", "affiliationChanged"]);
  assert.equal(j.serial, second.serial, "the existing field still names the current certificate");
  assert.equal(j.name, "bob");
  assert.equal(j.reason, "affiliationChanged");
  assert.equal(j.crlNumber, crlBefore + 1, "one CRL for both");
  assert.deepEqual(j.revoked.map((r) => [r.serial, r.kind, r.previousStatus]), [[first.serial, "client", "superseded"], [second.serial, "client", "valid"]]);
  assert.ok(!acceptedByOpenssl(first.serial), "the superseded one is refused");
  assert.ok(!acceptedByOpenssl(second.serial), "the current one is refused");
  const again = pki(home, ["revoke", "bob"]);
  assert.equal(again.status, 4);
  assert.match(again.stderr, /every certificate of "bob" is already revoked/);
});

test("--serial (or a serial as the argument) revokes just that one; the human output lists each revoked certificate", () => {
  const first = pkiJson<Issued>(home, ["issue-client", "dan"]);
  const second = pkiJson<Issued>(home, ["renew", "dan"]);
  const r = pki(home, ["revoke", "--serial", first.serial]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Revoked "CN=dan" \\(serial ${first.serial}, reason unspecified\\)\\.`));
  assert.ok(!acceptedByOpenssl(first.serial));
  assert.ok(acceptedByOpenssl(second.serial), "the current one still works");
  const third = pkiJson<Issued>(home, ["renew", "dan"]);
  const both = pki(home, ["revoke", "dan"]);
  assert.equal(both.status, 0, both.stderr);
  assert.match(both.stdout, new RegExp(`^Revoked 2 certificates of "dan" \\(reason unspecified\\):\\n  serial ${second.serial} .*superseded.*\\n  serial ${third.serial} .*valid`));
});

test("usage: a name and --serial together, neither, or --serial that is not a serial; nothing changes", () => {
  pkiJson(home, ["issue-client", "erin"]);
  const before = snapshot(home);
  for (const [args, code, why] of [
    [["revoke"], 2, /name a certificate or give --serial/],
    [["revoke", "erin", "--serial", "01"], 2, /not both/],
    [["revoke", "--serial", "erin"], 2, /--serial "erin" is not a serial/],
    [["revoke", "--serial", "0a0b"], 3, /no certificate with serial 0a0b/],
  ] as const) {
    const r = pki(home, [...args]);
    assert.equal(r.status, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  assert.deepEqual(snapshot(home), before);
});

test("on a terminal revoke lists what it will revoke and asks; no changes nothing, yes revokes; --yes does not ask", () => {
  const carol = pkiJson<Issued>(home, ["issue-client", "carol"]);
  const before = snapshot(home);
  const no = pkiOnTerminal(home, ["revoke", "carol"], "Revoke it?", "n\r");
  assert.equal(no.status, 2, no.stdout);
  assert.match(no.stdout, new RegExp(`This revokes 1 certificate .*\\r\\n  serial ${carol.serial}  client  "CN=carol"  valid`));
  assert.match(no.stdout, /not confirmed; nothing was revoked/);
  assert.deepEqual(snapshot(home), before);
  const yes = pkiOnTerminal(home, ["revoke", "carol"], "Revoke it?", "y\r");
  assert.equal(yes.status, 0, yes.stdout);
  assert.match(yes.stdout, new RegExp(`Revoked "CN=carol" \\(serial ${carol.serial}`));
  pkiJson(home, ["issue-client", "frank"]);
  const unasked = pkiOnTerminal(home, ["revoke", "frank", "--yes"]);
  assert.equal(unasked.status, 0, unasked.stdout);
  assert.doesNotMatch(unasked.stdout, /Revoke it\?/);
  assert.match(unasked.stdout, /Revoked "CN=frank"/);
});
