import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { testAuthority } from "../authority-home.js";
import { openssl, ROOT } from "../helpers.js";

const WORKER = join(ROOT, "dist", "test", "workers", "authority-worker.js");

function worker(home: string, prefix: string, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, home, prefix, String(count)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`worker ${prefix} exited ${code}: ${err}`))));
  });
}

test("4 processes, each with 8 concurrent issuances, revocations and a CRL: unique serials, gap-free CRL numbers, one verified chain", async () => {
  const t = await testAuthority();
  try {
    const serials = (await Promise.all(["p0", "p1", "p2", "p3"].map((p) => worker(t.home.dir, p, 8)))).flat();
    assert.equal(serials.length, 32);
    assert.equal(new Set(serials).size, 32);
    const fresh = await t.reopen();
    const events = await fresh.authority.events();
    const numbers = events.filter((e) => e.action === "crl-generated").map((e) => Number(e.details.number));
    // init's CRL, one per revocation (3 per process) and one per process at the end.
    assert.deepEqual(numbers, Array.from({ length: 1 + 4 * 3 + 4 }, (_, i) => i + 1));
    const audit = await fresh.authority.verifyAudit();
    assert.equal(audit.ok, true, audit.problems.join("\n"));
    const crl = openssl(["crl", "-in", t.home.crl, "-CAfile", t.home.caCertificate, "-noout", "-text"]);
    assert.match(crl.stderr + crl.stdout, /verify OK/);
    assert.match(crl.stdout, /CRL Number: \s*17\b/);
    const revoked = await fresh.authority.list(t.ctx(), { status: "revoked" });
    assert.equal(revoked.length, 12);
    for (const r of revoked) assert.match(crl.stdout, new RegExp(r.serial.toUpperCase()));
    for (const v of await fresh.authority.list(t.ctx(), { status: "valid" })) {
      if (v.kind === "root") continue;
      const check = openssl(["verify", "-CAfile", t.home.caCertificate, t.home.certificate(v.name)]);
      assert.equal(check.status, 0, check.stdout + check.stderr);
    }
  } finally {
    await t.cleanup();
  }
});
