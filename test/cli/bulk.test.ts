import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, mode, openssl, PASSIN, pki, pkiJson } from "../helpers.js";
import { pkiOnTerminal } from "./pty.js";

const { home, cleanup } = initHome();
after(cleanup);
const ca = join(home, "ca.pem");

/** `openssl x509 -text` with what differs between two certificates of one profile blanked: serial, validity, name, key, SKI, signature. */
function shape(file: string, name: string): string {
  const text = openssl(["x509", "-in", file, "-noout", "-text"]).stdout;
  return text
    .replace(/Serial Number:\n\s+[0-9a-f:]+/, "Serial Number: S")
    .replace(/Not (Before|After) ?: .*/g, "Not $1: T")
    .split(name).join("NAME")
    .replace(/pub:\n(\s+[0-9a-f:]+\n)+/, "pub: K\n")
    .replace(/Subject Key Identifier: \n\s+[0-9A-F:]+/, "Subject Key Identifier: SKI")
    .replace(/Signature Value:\n(\s+[0-9a-f:]+\n)+/, "Signature Value: SIG\n");
}

type Shown = { name: string; kind: string; subject: string; serial: string; notBefore: string; notAfter: string };

test("issue-client --from: each certificate is what single issuance makes for that name (same profile encoding), verifies, its key opens; the audit chain verifies", () => {
  const list = join(home, "..", "clients.txt");
  const names = Array.from({ length: 12 }, (_, i) => `bulk-${i}`);
  writeFileSync(list, names.join("\n") + "\n");
  assert.equal(pkiJson<{ issued: number }>(home, ["issue-client", "--from", list]).issued, 12);
  assert.equal(pki(home, ["issue-client", "single-0"]).status, 0);
  const single = shape(join(home, "certs", "single-0.pem"), "single-0");
  const singleShown = pkiJson<Shown>(home, ["show", "single-0"]);
  for (const n of names) {
    const cert = join(home, "certs", `${n}.pem`);
    assert.equal(shape(cert, n), single, `${n}: differs from single issuance beyond serial, validity, name, key, SKI and signature`);
    assert.equal(openssl(["verify", "-purpose", "sslclient", "-CAfile", ca, cert]).status, 0, n);
    assert.equal(mode(cert), 0o644);
    assert.equal(mode(join(home, "private", `${n}.key`)), 0o600);
    // The ledger row reads as single issuance's does.
    const shown = pkiJson<Shown>(home, ["show", n]);
    assert.equal(shown.subject, `CN=${n}`);
    assert.equal(shown.kind, singleShown.kind);
    const start = openssl(["x509", "-in", cert, "-noout", "-startdate"]).stdout.trim().replace("notBefore=", "");
    assert.equal(Date.parse(shown.notBefore), Date.parse(start), `${n}: the ledger's notBefore is the certificate's`);
  }
  // Every key opens with the passphrase and is the certificate's.
  for (const n of [names[0]!, names[7]!, names[11]!]) {
    const pub = openssl(["pkey", "-in", join(home, "private", `${n}.key`), "-passin", PASSIN, "-pubout"]);
    assert.equal(pub.status, 0, pub.stderr);
    assert.equal(pub.stdout, openssl(["x509", "-in", join(home, "certs", `${n}.pem`), "-noout", "-pubkey"]).stdout, n);
  }
  const audit = pki(home, ["audit", "--verify"]);
  assert.equal(audit.status, 0, audit.stdout + audit.stderr);
  const issued = pkiJson<{ action: string; details: { name?: string; batch?: boolean; fromCsr?: boolean } }[]>(home, ["audit"]).filter((e) => e.action === "issued" && e.details.batch);
  assert.deepEqual(issued.map((e) => e.details.name).sort(), [...names].sort());
  assert.ok(issued.every((e) => e.details.fromCsr === false));
  assert.equal(pki(home, ["check"]).status, 0);
  assert.deepEqual(readdirSync(join(home, "certs")).filter((f) => f.includes(".tmp-")), [], "no temporary file is left");
});

test("issue-server --from: one server a line (hosts as for issue-server); each certificate is what issue-server makes for those hosts; a bad line refuses the whole list", () => {
  const list = join(home, "..", "servers.txt");
  writeFileSync(list, "# web\nweb1.internal 10.0.0.11\n\n2001:db8::7 v6.internal   # comment\n*.apps.internal\n");
  assert.equal(pkiJson<{ issued: number }>(home, ["issue-server", "--from", list]).issued, 3);
  assert.equal(pki(home, ["issue-server", "web2.internal", "10.0.0.12"]).status, 0);
  assert.equal(pki(home, ["issue-server", "2001:db8::8", "v6b.internal"]).status, 0);
  const pairs = [
    ["web1.internal", "web1.internal", "web2.internal", "web2.internal", [["10.0.0.11", "10.0.0.12"]]],
    ["2001-db8--7", "v6.internal", "2001-db8--8", "v6b.internal", [["2001:DB8:0:0:0:0:0:7", "2001:DB8:0:0:0:0:0:8"], ["2001:db8::7", "2001:db8::8"]]],
  ] as const;
  for (const [bulkFile, bulkHost, singleFile, singleHost, swaps] of pairs) {
    let bulk = shape(join(home, "certs", `${bulkFile}.pem`), bulkHost);
    for (const [from, to] of swaps) bulk = bulk.split(from).join(to);
    assert.equal(bulk, shape(join(home, "certs", `${singleFile}.pem`), singleHost), bulkFile);
  }
  const san = openssl(["x509", "-in", join(home, "certs", "wildcard.apps.internal.pem"), "-noout", "-ext", "subjectAltName", "-subject"]).stdout;
  assert.match(san, /DNS:\*\.apps\.internal/);
  for (const f of ["web1.internal", "2001-db8--7", "wildcard.apps.internal"]) {
    assert.equal(openssl(["verify", "-purpose", "sslserver", "-CAfile", ca, join(home, "certs", `${f}.pem`)]).status, 0, f);
    assert.equal(pkiJson<Shown>(home, ["show", f]).kind, "server");
  }
  writeFileSync(list, "ok.internal\nbad host!\n");
  const r = pki(home, ["issue-server", "--from", list]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /line 2: /);
  assert.equal(pkiJson<{ name: string }[]>(home, ["list"]).some((c) => c.name === "ok.internal"), false, "nothing of a refused list is issued");
  assert.equal(pki(home, ["issue-server", "--from", list, "extra.internal"]).status, 2);
  assert.equal(pki(home, ["audit", "--verify"]).status, 0);
});

test("--from on a terminal draws a progress bar per chunk; through a pipe it prints only the result", () => {
  const list = join(home, "..", "tty.txt");
  writeFileSync(list, Array.from({ length: 510 }, (_, i) => `tty-${i}`).join("\n"));
  const r = pkiOnTerminal(home, ["issue-client", "--from", list]);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /\r\[#+ +\] 500\/510 \(\d+\/s\)/);
  assert.match(r.stdout, /\r\[#{30}\] 510\/510 \(\d+\/s\)/);
  assert.match(r.stdout, /Issued 510 certificates in/);
  writeFileSync(list, "piped-1\npiped-2\n");
  const piped = pki(home, ["issue-client", "--from", list]);
  assert.equal(piped.status, 0);
  assert.equal(piped.stderr, "");
  assert.match(piped.stdout, /^Issued 2 certificates in [\d.]+ s/);
});

test("--from without coreutils' sync --file-system (BusyBox, macOS) fsyncs each file instead and succeeds", () => {
  const list = join(home, "..", "nosync.txt");
  const names = ["nosync-0", "nosync-1", "nosync-2"];
  writeFileSync(list, names.join("\n"));
  const emptyPath = join(home, "..", "empty-path");
  mkdirSync(emptyPath, { recursive: true });
  const r = pki(home, ["issue-client", "--from", list], { PATH: emptyPath });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Issued 3 certificates in/);
  for (const n of names) assert.equal(openssl(["verify", "-CAfile", ca, join(home, "certs", `${n}.pem`)]).status, 0, n);
  assert.equal(pki(home, ["check"]).status, 0);
});
