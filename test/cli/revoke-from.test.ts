import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});

interface Batch {
  reason: string;
  revoked: { serial: string; name: string; line: number }[];
  alreadyRevoked: number;
  expired: number;
  duplicates: number;
  crlNumber: number;
}
interface Listed {
  serial: string;
  name: string;
  status: string;
}

let files = 0;
function list(text: string): string {
  const file = join(work.dir, `list-${++files}.txt`);
  writeFileSync(file, text);
  return file;
}

function issue(...names: string[]): void {
  assert.equal(pki(home, ["issue-client", "--from", list(names.join("\n"))]).status, 0);
}

const serialOf = (name: string) => pkiJson<{ serial: string }>(home, ["show", name]).serial;
const crlsSigned = () => pkiJson<{ action: string }[]>(home, ["audit"]).filter((e) => e.action === "crl-generated").length;

/** The serials crl.pem lists (as openssl prints them, lowercased), after openssl verified its signature. */
function crlSerials(): Set<string> {
  const crl = join(home, "crl.pem");
  const verify = openssl(["crl", "-in", crl, "-CAfile", join(home, "ca.pem"), "-noout", "-verify"]);
  assert.match(verify.stderr + verify.stdout, /verify OK/);
  const text = openssl(["crl", "-in", crl, "-noout", "-text"]).stdout;
  return new Set([...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase()));
}

/** Every file of the home but SQLite's -wal and -shm, which come and go with connections. */
const state = () => Object.fromEntries(Object.entries(snapshot(home)).filter(([f]) => !/-(wal|shm)$/.test(f)));

/** What a refused list must leave: the ledger and every file as they were. */
function assertRefused(file: string, status: number, code: string, message: RegExp): void {
  const before = state();
  const r = pki(home, ["--json", "revoke", "--from", file]);
  assert.equal(r.status, status, r.stderr);
  const error = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, code);
  assert.match(error.message, message);
  assert.equal(r.stderr.trim().split("\n").length, 1, "one line on stderr");
  assert.deepEqual(state(), before, "nothing changed");
}

test("revoke --from: names and serials mixed, comments, blank lines, duplicates and already revoked lines; one CRL lists all, and the audit verifies", () => {
  issue("ann", "ben", "cat", "dev", "eve");
  assert.equal(pki(home, ["revoke", "eve"]).status, 0);
  const crlBefore = crlsSigned();
  const ben = serialOf("ben");
  const file = list(`# leavers, December\nann\n\n${ben}   # ben by serial\ncat\nann\n${ben.toUpperCase().match(/../g)!.join(":")}\neve\n  dev  \n`);
  const j = pkiJson<Batch>(home, ["revoke", "--from", file, "--reason", "affiliationChanged"]);
  assert.equal(j.revoked.length, 4);
  assert.equal(j.alreadyRevoked, 1, "eve");
  assert.equal(j.duplicates, 2, "ann twice, ben's serial twice (once with colons)");
  assert.equal(j.reason, "affiliationChanged");
  assert.deepEqual(j.revoked.map((c) => [c.name, c.line]), [["ann", 2], ["ben", 4], ["cat", 5], ["dev", 9]]);
  assert.equal(crlsSigned(), crlBefore + 1, "one CRL for the whole list");
  const listed = crlSerials();
  for (const name of ["ann", "ben", "cat", "dev", "eve"]) assert.ok(listed.has(pkiJson<Listed[]>(home, ["list", "--status", "revoked"]).find((c) => c.name === name)!.serial), `${name} on the CRL`);
  const text = openssl(["crl", "-in", join(home, "crl.pem"), "-noout", "-text"]).stdout;
  assert.equal(text.match(/Affiliation Changed/g)?.length, 4, "each entry carries the reason");
  const events = pkiJson<{ action: string; serial: string | null }[]>(home, ["audit"]).filter((e) => e.action === "revoked");
  for (const c of j.revoked) assert.ok(events.some((e) => e.serial === c.serial), `an event for ${c.name}`);
  assert.equal(pki(home, ["audit", "--verify"]).status, 0);
  assert.equal(pki(home, ["check"]).status, 0);

  // Run again: everything is already revoked, nothing fails, and a CRL is signed (what finishes an interrupted run).
  const again = pkiJson<Batch>(home, ["revoke", "--from", file]);
  assert.deepEqual([again.revoked.length, again.alreadyRevoked, again.duplicates], [0, 7, 0], "each line counts as already revoked now");
});

test("revoke --from prints a report on a pipe and runs the CRL hook once", () => {
  issue("fay", "gus", "hal");
  const marks = join(work.dir, "hook-runs");
  assert.equal(pki(home, ["hook", "set", "crl", `echo run >> '${marks}'`]).status, 0);
  const r = pki(home, ["revoke", "--from", list("fay\ngus\nhal\n"), "--chunk-size", "1"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Revoked 3 certificates \(reason unspecified\)\.\n {2}CRL #\d+: .*crl\.pem, \d+ certificates revoked, expires /);
  assert.equal(r.stderr.includes("Revoking"), false, "no progress line off a terminal");
  assert.equal(readFileSync(marks, "utf8"), "run\n", "the hook ran once for three chunks");
  assert.equal(pki(home, ["hook", "clear", "crl"]).status, 0);
  assert.equal(pki(home, ["audit", "--verify"]).status, 0);
});

test("revoke --from refuses a list with unknown names, naming their lines, before anything is revoked", () => {
  issue("ida");
  assertRefused(list("ida\nnobody\n# fine\nnoone\n"), 3, "NOT_FOUND", /^2 lines name no certificate: line 2 "nobody", line 4 "noone"; nothing was revoked$/);
  const many = list(["ida", ...Array.from({ length: 8 }, (_, i) => `ghost${i}`)].join("\n"));
  assertRefused(many, 3, "NOT_FOUND", /^8 lines name no certificate: line 2 "ghost0", .*line 6 "ghost4" and 3 more; nothing/);
  assert.equal(pkiJson<Listed[]>(home, ["list"]).find((c) => c.name === "ida")!.status, "valid");
});

test("revoke --from refuses the root, an empty list, a huge line, a bad reason and a NAME beside it", () => {
  issue("jo");
  const rootSerial = pkiJson<Listed[]>(home, ["list"]).find((c) => c.name === "Test Root CA")!.serial;
  assertRefused(list(`jo\n${rootSerial}\n`), 6, "ROOT_REFUSED", /^line 2: .* is the root CA/);
  assertRefused(list("# nothing here\n\n   \n"), 2, "USAGE", /holds no names or serials/);
  const huge = "x".repeat(100_000);
  const hugeFile = list(`jo\n${huge}\n`);
  assertRefused(hugeFile, 3, "NOT_FOUND", /^no certificate with this name or serial: line 2 "x{39}…"; nothing/);
  const badReason = pki(home, ["revoke", "--from", list("jo\n"), "--reason", "removeFromCRL"]);
  assert.equal(badReason.status, 2);
  assert.match(badReason.stderr, /--reason/);
  const both = pki(home, ["revoke", "jo", "--from", list("jo\n")]);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /give no NAME or --serial with it/);
  const missing = pki(home, ["revoke", "--from", join(work.dir, "absent.txt")]);
  assert.equal(missing.status, 3);
  assert.equal(pkiJson<Listed[]>(home, ["list"]).find((c) => c.name === "jo")!.status, "valid");
});

test("SIGKILL between two chunks: check reports the revocations the CRL lacks, check --repair signs it, the list run again finishes", () => {
  issue("kim", "lee", "max", "ned", "oli");
  const file = list("kim\nlee\nmax\nned\noli\n");
  const killed = pki(home, ["revoke", "--from", file, "--chunk-size", "2"], { PKI_CRASH_AT: "mid-batch" });
  assert.equal(killed.status, -1, `not killed: ${killed.stderr}`);
  const revoked = pkiJson<Listed[]>(home, ["list", "--status", "revoked"]).map((c) => c.name);
  assert.ok(revoked.includes("kim") && revoked.includes("lee"), "the first chunk is committed");
  assert.ok(!revoked.includes("max"), "the second is not");
  assert.ok(!crlSerials().has(serialOf("kim")), "no CRL yet for the first chunk");

  const check = pki(home, ["check"]);
  assert.equal(check.status, 8, check.stdout);
  assert.match(check.stdout, /FAIL {2}crl {9}CRL #\d+ lists \d+ revoked certificates but the ledger has \d+: a bulk revocation \(pki revoke --from\) was interrupted/);
  const repaired = pkiJson<{ ok: boolean; findings: { check: string; message: string; repaired?: boolean }[] }>(home, ["check", "--repair"]);
  assert.equal(repaired.ok, true, JSON.stringify(repaired.findings.filter((f) => f.check === "crl")));
  assert.ok(repaired.findings.some((f) => f.check === "crl" && f.repaired && /^signed CRL #\d+ with every revocation/.test(f.message)));
  assert.ok(crlSerials().has(serialOf("kim")) && crlSerials().has(serialOf("lee")));
  assert.equal(pki(home, ["check"]).status, 0);

  const rest = pkiJson<Batch>(home, ["revoke", "--from", file, "--chunk-size", "2"]);
  assert.deepEqual([rest.revoked.length, rest.alreadyRevoked], [3, 2]);
  const listed = crlSerials();
  for (const name of ["kim", "lee", "max", "ned", "oli"]) assert.ok(listed.has(serialOf(name)), name);
  assert.equal(pki(home, ["audit", "--verify"]).status, 0);
  assert.equal(pki(home, ["check"]).status, 0);
});
