import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, PASSPHRASE, PKI_BIN, pkiJson } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);

/** Starts `pki` without waiting, so many run at once. */
function start(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PKI_BIN, "--json", ...args], { env: { PATH: process.env.PATH, PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const N = 12;

test(`${N} processes issue at once: all succeed, serials unique, nothing lost, no "database is locked"`, async () => {
  const results = await Promise.all(Array.from({ length: N }, (_, i) => start(["issue-client", `user${i}`])));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const serials = results.map((r) => JSON.parse(r.stdout).serial as string);
  assert.equal(new Set(serials).size, N);
  const listed = pkiJson<{ name: string; serial: string }[]>(home, ["list", "--status", "valid"]).filter((c) => c.name.startsWith("user"));
  assert.deepEqual(listed.map((c) => c.serial).sort(), [...serials].sort());
});

test(`${N} processes revoke while ${N / 2} issue and 2 regenerate the CRL: every revocation is in the final CRL`, async () => {
  const jobs = [
    ...Array.from({ length: N }, (_, i) => start(["revoke", `user${i}`])),
    ...Array.from({ length: N / 2 }, (_, i) => start(["issue-client", `late${i}`])),
    start(["crl"]),
    start(["crl"]),
  ];
  const results = await Promise.all(jobs);
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /locked|busy/i);
  }
  const text = openssl(["crl", "-in", join(home, "crl.pem"), "-CAfile", join(home, "ca.pem"), "-noout", "-text"]);
  assert.match(text.stderr + text.stdout, /verify OK/);
  const revoked = pkiJson<{ serial: string }[]>(home, ["list", "--status", "revoked"]);
  assert.equal(revoked.length, N);
  for (const r of revoked) assert.match(text.stdout, new RegExp(`Serial Number: ${r.serial.toUpperCase()}\\n`));
  const number = Number(/CRL Number: \s*\n\s+(\d+)/.exec(text.stdout)![1]);
  assert.equal(number, 1 + N + 2, "one CRL per revocation and per crl command, numbers never reused, crl.pem is the newest");
  const check = pkiJson<{ ok: boolean }>(home, ["check"]);
  assert.equal(check.ok, true, JSON.stringify(check));
});
