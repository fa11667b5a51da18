import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

// Policy holds per certificate, whatever a profile's variables expand to (issue #12 findings 6, 7, 8).
const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});

const LEAF_HEAD = "[ req ]\nprompt = no\ndistinguished_name = dn\nreq_extensions = ext\n[ dn ]\nCN = $ENV::PKI_NAME\n[ ext ]\n";

function profile(file: string, text: string): string {
  const p = join(work.dir, file);
  writeFileSync(p, text);
  return p;
}

function refused(h: string, args: string[], code: number, errorCode: string, why: RegExp, env: Record<string, string> = {}): void {
  const before = snapshot(h);
  const r = pki(h, ["--json", ...args], env);
  assert.equal(r.status, code, `${args.join(" ")}: ${r.stderr}`);
  assert.match(r.stderr, why, args.join(" "));
  assert.equal(JSON.parse(r.stdout).error.code, errorCode);
  assert.deepEqual(snapshot(h), before, `${args.join(" ")}: ledger and files unchanged`);
}

test("bulk issuance checks the leaf policy for every name after expansion, not only the first", () => {
  const p = profile("bc-from-name.ini", `${LEAF_HEAD}basicConstraints = critical, CA:$ENV::PKI_NAME\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n`);
  const list = join(work.dir, "names.txt");
  writeFileSync(list, "false\nTRUE\n");
  refused(home, ["issue-client", "--from", list, "--profile", p], 6, "INVALID_INPUT", /a leaf profile needs basicConstraints = critical, CA:false/);
});

test("a root profile must keep CA:true, pathlen:0, critical, with keyCertSign and cRLSign", () => {
  const head = "[ req ]\nprompt = no\ndistinguished_name = dn\nx509_extensions = ext\n[ dn ]\nCN = $ENV::PKI_NAME\n[ ext ]\n";
  for (const [file, ext, why] of [
    ["no-pathlen.ini", "basicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign\n", /critical, CA:true, pathlen:0/],
    ["pathlen-1.ini", "basicConstraints = critical, CA:true, pathlen:1\nkeyUsage = critical, keyCertSign, cRLSign\n", /critical, CA:true, pathlen:0/],
    ["not-critical.ini", "basicConstraints = CA:true, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign\n", /critical, CA:true, pathlen:0/],
    ["no-crlsign.ini", "basicConstraints = critical, CA:true, pathlen:0\nkeyUsage = critical, keyCertSign\n", /keyUsage = critical, keyCertSign, cRLSign/],
    ["ku-not-critical.ini", "basicConstraints = critical, CA:true, pathlen:0\nkeyUsage = keyCertSign, cRLSign\n", /keyUsage = critical, keyCertSign, cRLSign/],
  ] as const) {
    const newHome = join(work.dir, `root-${file}`);
    const r = pki(newHome, ["--json", "init-root", "--cn", "Sub CA Maker", "--profile", profile(file, head + ext)]);
    assert.equal(r.status, 6, `${file}: ${r.stderr}`);
    assert.match(r.stderr, why, file);
    assert.equal(JSON.parse(r.stdout).error.code, "PROFILE_POLICY");
    assert.ok(!existsSync(newHome), `${file}: no home made`);
  }
});

test("--email cannot add subjectAltNames through a profile that expands $ENV::PKI_EMAIL", () => {
  const p = profile("email-san.ini", `${LEAF_HEAD}basicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\nsubjectAltName = email:$ENV::PKI_EMAIL\n`);
  for (const email of ["bob@example.com,DNS:evil.example", "bob@example.com, IP:10.0.0.1", "x,URI:https://evil.example@example.com", 'a"b@example.com']) {
    refused(home, ["issue-client", "bob", "--email", email, "--profile", p], 2, "USAGE", /--email .* is not an address like alice@example\.com/);
  }
  const issued = pkiJson<{ certificate: string }>(home, ["issue-client", "bob", "--email", "bob.smith+ci@example.com", "--profile", p]);
  const text = openssl(["x509", "-in", issued.certificate, "-noout", "-ext", "subjectAltName"]).stdout;
  assert.match(text, /email:bob\.smith\+ci@example\.com/);
  assert.doesNotMatch(text, /DNS|IP/);
});

test("a variable whose value has \",\" or \":\" cannot add items to a list-valued extension", () => {
  // An IPv6 server's CN is its address, with colons: fine in the subject, refused inside a SAN list.
  const p = profile("name-san.ini", "[ req ]\nprompt = no\ndistinguished_name = dn\nreq_extensions = ext\n[ dn ]\nCN = $ENV::PKI_NAME\n[ ext ]\nbasicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:$ENV::PKI_NAME\n");
  refused(home, ["issue-server", "2001:db8::7", "--profile", p], 6, "INVALID_INPUT", /name-san\.ini:11: subjectAltName: the value of \$ENV::PKI_NAME has "," or ":", which would add items to this list/);
});

test("renew --reuse-key refuses a key that was revoked for keyCompromise, under any serial of the name", () => {
  pkiJson(home, ["issue-client", "dave"]);
  const first = pkiJson<{ serial: string }>(home, ["show", "dave"]).serial;
  pkiJson(home, ["renew", "dave", "--reuse-key"]);
  // The superseded first certificate holds the same key: its compromise is the current one's.
  pkiJson(home, ["revoke", "--serial", first, "--reason", "keyCompromise"]);
  refused(home, ["renew", "dave", "--reuse-key"], 6, "KEY_COMPROMISED", new RegExp(`dave"'s key is the key of certificate ${first} \\("dave"\\), revoked for keyCompromise`));
  const renewed = pkiJson<{ certificate: string }>(home, ["renew", "dave"]);
  assert.ok(readFileSync(renewed.certificate, "utf8").includes("BEGIN CERTIFICATE"), "a new key is fine");

  pkiJson(home, ["issue-client", "erin"]);
  pkiJson(home, ["revoke", "erin", "--reason", "keyCompromise"]);
  refused(home, ["renew", "erin", "--reuse-key"], 6, "KEY_COMPROMISED", /revoked for keyCompromise/);
});
