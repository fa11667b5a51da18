import assert from "node:assert/strict";
import { test } from "node:test";
import type { CaCore } from "../../src/ca/core.js";
import { PkiError } from "../../src/ca/errors.js";
import { BatchInterrupted } from "../../src/ca/revocation-batch.js";
import { CrlReason } from "../../src/crypto/crl-reason.js";
import { testAuthority } from "../authority-home.js";
import { openssl } from "../helpers.js";

test("revoke --from: a chunk failing after another committed still publishes a CRL listing the committed revocations", async () => {
  const t = await testAuthority();
  try {
    const { authority, ctx } = t;
    const names = ["c1", "c2", "c3", "c4"];
    const issued = await Promise.all(names.map((name) => authority.issue(ctx(), { name, kind: "client" })));
    // The second change (the second chunk) fails as a full disk would make it fail; the ones after it work again.
    const core = (authority as unknown as { core: CaCore }).core;
    const change = core.change.bind(core);
    let changes = 0;
    core.change = ((...args: Parameters<CaCore["change"]>) => {
      if (++changes === 2) return Promise.reject(new PkiError("storage", "cannot write the ledger: no space left on device (injected)", undefined, "STORAGE"));
      return change(...args);
    }) as CaCore["change"];

    const e = await authority.revokeBatch(ctx(), { lines: names.map((target, i) => ({ line: i + 1, target })), reason: CrlReason.keyCompromise, chunkSize: 2 }).then(
      () => assert.fail("the batch should fail"),
      (err: unknown) => err,
    );
    assert.ok(e instanceof BatchInterrupted, String(e));
    assert.equal(e.code, "STORAGE");
    assert.equal(e.revoked, 2);
    assert.match(e.message, /no space left on device \(injected\); 2 certificate\(s\) of the list were revoked before it and are in CRL #\d+/);
    assert.equal(changes, 3, "one more change signed the CRL");

    const crl = openssl(["crl", "-in", t.home.crl, "-CAfile", t.home.caCertificate, "-noout", "-text"]);
    assert.match(crl.stderr + crl.stdout, /verify OK/);
    assert.match(crl.stdout, new RegExp(`CRL Number: \\s*${e.crl!.number}\\b`));
    for (const r of issued.slice(0, 2)) assert.match(crl.stdout, new RegExp(r.view.serial.toUpperCase()));
    for (const r of issued.slice(2)) assert.doesNotMatch(crl.stdout, new RegExp(r.view.serial.toUpperCase()));
    assert.equal((await authority.show(ctx(), "c3")).view.status, "valid");
    assert.equal((await authority.check(ctx(), false)).filter((f) => f.level === "error").length, 0);
    const audit = await authority.verifyAudit();
    assert.equal(audit.ok, true, audit.problems.join("\n"));

    // Run again, the list finishes: the first two are counted as already revoked.
    const again = await authority.revokeBatch(ctx(), { lines: names.map((target, i) => ({ line: i + 1, target })), reason: CrlReason.keyCompromise, chunkSize: 2 });
    assert.equal(again.alreadyRevoked, 2);
    assert.deepEqual(again.revoked.map((c) => c.name), ["c3", "c4"]);
    assert.equal(again.crl.revoked, 4);
  } finally {
    await t.cleanup();
  }
});
