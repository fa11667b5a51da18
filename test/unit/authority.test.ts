import assert from "node:assert/strict";
import { test } from "node:test";
import { PkiError } from "../../src/ca/errors.js";
import { CrlReason } from "../../src/crypto/crl-reason.js";
import { testAuthority } from "../authority-home.js";
import { openssl } from "../helpers.js";

const DAY = 86_400_000;
const later = (from: Date, days: number) => new Date(from.getTime() + days * DAY);

test("the fake clock drives validity, expiry, re-issuance after expiry and the CRL's nextUpdate", async () => {
  const t = await testAuthority();
  try {
    const { authority, clock, ctx } = t;
    const start = clock.now;
    const issued = await authority.issue(ctx(), { name: "alice", kind: "client", days: 30 });
    assert.equal(issued.view.notAfter, later(start, 30).toISOString());
    assert.equal(issued.view.notBefore, new Date(start.getTime() - 5 * 60_000).toISOString());
    await assert.rejects(authority.issue(ctx(), { name: "alice", kind: "client" }), (e: unknown) => e instanceof PkiError && e.code === "NAME_TAKEN");

    clock.now = later(start, 29);
    assert.equal((await authority.list(ctx(), { expiringDays: 2 })).map((v) => v.name).join(), "alice");
    clock.now = later(start, 31);
    assert.equal((await authority.show(ctx(), "alice")).view.status, "expired");
    assert.deepEqual((await authority.list(ctx(), { status: "valid" })).filter((v) => v.kind === "client"), []);

    // An expired certificate gives its name up; the new one records which one it replaces.
    const again = await authority.issue(ctx(), { name: "alice", kind: "client" });
    assert.equal(again.view.notBefore, new Date(clock.now.getTime() - 5 * 60_000).toISOString());
    const events = await authority.events();
    const last = events.filter((e) => e.action === "issued").at(-1)!;
    assert.equal(last.details.replaces, issued.view.serial);
    assert.equal(last.at, clock.now.toISOString());
    assert.equal((await authority.show(ctx(), issued.view.serial)).view.status, "superseded");

    // init-root signed CRL #1 at the start time; check warns a week before its nextUpdate and fails after it.
    clock.now = later(start, 24);
    const warn = (await authority.check(ctx(), false)).find((f) => f.check === "crl")!;
    assert.equal(warn.level, "warning", warn.message);
    clock.now = later(start, 31);
    assert.equal((await authority.check(ctx(), false)).find((f) => f.check === "crl")!.level, "error");
    const crl = await authority.generateCrl(ctx());
    assert.equal(crl.thisUpdate, clock.now.toISOString());
    assert.equal(crl.nextUpdate, later(clock.now, 30).toISOString());
    assert.equal((await authority.check(ctx(), false)).find((f) => f.check === "crl")!.level, "ok");
  } finally {
    await t.cleanup();
  }
});

test("each call acts for its own actor: one Authority serves several callers", async () => {
  const t = await testAuthority();
  try {
    await Promise.all([t.authority.issue(t.ctx("alice-admin"), { name: "a", kind: "client" }), t.authority.issue(t.ctx("bob-admin"), { name: "b", kind: "client" })]);
    const actors = (await t.authority.events()).filter((e) => e.action === "issued").map((e) => `${e.details.name}:${e.actor}`).sort();
    assert.deepEqual(actors, ["a:alice-admin", "b:bob-admin"]);
  } finally {
    await t.cleanup();
  }
});

test("a cancelled call changes nothing", async () => {
  const t = await testAuthority();
  try {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(t.authority.issue({ ...t.ctx(), signal: controller.signal }, { name: "a", kind: "client" }), { name: "AbortError" });
    assert.equal((await t.authority.list(t.ctx())).length, 1);
  } finally {
    await t.cleanup();
  }
});

test("the passphrase key is derived once per process: issue, bulk, renew, export; exports never unlock the root", async () => {
  const t = await testAuthority();
  try {
    await t.authority.issue(t.ctx(), { name: "one", kind: "client" });
    await t.authority.issueBatch(t.ctx(), { names: ["b1", "b2", "b3"], chunkSize: 2 });
    await t.authority.renew(t.ctx(), { name: "one", reuseKey: true, revokeOld: true });
    await t.authority.revoke(t.ctx(), "b1", CrlReason.keyCompromise);
    assert.equal(t.keyring.derivations, 1);

    // A new process exporting a .p12 opens only the exported key, which pki sealed under the
    // root key's salt: one derivation, and the root key is never asked for a signer.
    const fresh = await t.reopen();
    let signers = 0;
    const signer = fresh.keyring.signer.bind(fresh.keyring);
    fresh.keyring.signer = (cert, key) => (signers++, signer(cert, key));
    await fresh.authority.exportPkcs12(t.ctx(), { target: "b2", password: "p12-password" });
    await fresh.authority.exportKey(t.ctx(), { target: "b3", out: t.home.key("b3-copy"), password: null });
    assert.equal(fresh.keyring.derivations, 1);
    assert.equal(signers, 0);
    const p12 = openssl(["pkcs12", "-in", t.home.pkcs12("b2"), "-passin", "pass:p12-password", "-nokeys", "-clcerts"]);
    assert.match(p12.stdout, /subject=.*CN\s*=\s*b2/);
    // Keys sealed with a shared salt are still each standard encrypted PKCS#8.
    assert.equal(openssl(["pkey", "-in", t.home.key("b3"), "-passin", "env:PKI_PASSPHRASE", "-noout"]).status, 0);
  } finally {
    await t.cleanup();
  }
});

test("a wrong passphrase is BAD_PASSPHRASE, and nothing is sealed under it", async () => {
  const t = await testAuthority();
  try {
    const { Authority } = await import("../../src/ca/authority.js");
    const { TEMPLATES } = await import("../authority-home.js");
    const wrong = await Authority.open({ home: t.home, templatesDir: TEMPLATES, passphrase: async () => "not the passphrase" });
    try {
      await assert.rejects(wrong.issue(t.ctx(), { name: "x", kind: "client" }), (e: unknown) => e instanceof PkiError && e.code === "BAD_PASSPHRASE");
    } finally {
      await wrong.close();
    }
    assert.equal((await t.authority.list(t.ctx())).length, 1);
  } finally {
    await t.cleanup();
  }
});

test("50 concurrent issuances, revocations and CRLs in one process: unique serials, gap-free CRL numbers, a linear chain", async () => {
  const t = await testAuthority();
  try {
    const { authority, ctx } = t;
    const names = Array.from({ length: 50 }, (_, i) => `u${i}`);
    const issued = await Promise.all(names.map((name) => authority.issue(ctx(), { name, kind: "client" })));
    assert.equal(new Set(issued.map((r) => r.view.serial)).size, 50);
    await Promise.all([
      ...names.slice(0, 10).map((n) => authority.revoke(ctx(), n, CrlReason.keyCompromise)),
      // Two bulk runs at once failed with "cannot start a transaction within a transaction" before the async ledger.
      authority.issueBatch(ctx(), { names: Array.from({ length: 20 }, (_, i) => `a${i}`) }),
      authority.issueBatch(ctx(), { names: Array.from({ length: 20 }, (_, i) => `b${i}`) }),
      authority.generateCrl(ctx()),
      authority.renew(ctx(), { name: "u20", revokeOld: true }),
    ]);
    const events = await authority.events();
    const numbers = events.filter((e) => e.action === "crl-generated").map((e) => Number(e.details.number));
    assert.deepEqual(numbers, Array.from({ length: numbers.length }, (_, i) => i + 1));
    assert.equal(numbers.length, 1 + 10 + 1 + 1);
    const audit = await authority.verifyAudit();
    assert.equal(audit.ok, true, audit.problems.join("\n"));
    const crl = openssl(["crl", "-in", t.home.crl, "-CAfile", t.home.caCertificate, "-noout", "-text"]);
    assert.match(crl.stderr + crl.stdout, /verify OK/);
    assert.match(crl.stdout, new RegExp(`CRL Number: \\s*${numbers.length}\\b`));
    for (const r of issued.slice(0, 10)) assert.match(crl.stdout, new RegExp(r.view.serial.toUpperCase()));
    for (const r of issued.slice(30, 40)) {
      const v = openssl(["verify", "-attime", String(Math.floor(t.clock.now.getTime() / 1000)), "-CAfile", t.home.caCertificate, r.certificatePath]);
      assert.equal(v.status, 0, v.stdout + v.stderr);
    }
    assert.equal((await authority.check(ctx(), false)).filter((f) => f.level === "error").length, 0);
  } finally {
    await t.cleanup();
  }
});

test("list --expiring DAYS: from now (inclusive: a certificate is valid at its notAfter) to now + DAYS (exclusive), only valid ones", async () => {
  const t = await testAuthority();
  try {
    const { authority, clock, ctx } = t;
    const start = clock.now;
    for (const [name, days] of [["d10", 10], ["d30", 30], ["d31", 31], ["gone", 30], ["old", 30]] as const) await authority.issue(ctx(), { name, kind: "client", days });
    await authority.revoke(ctx(), "gone", CrlReason.unspecified);
    await authority.renew(ctx(), { name: "old", days: 60 });
    const names = async (days: number) => (await authority.list(ctx(), { expiringDays: days })).map((v) => v.name).sort().join();
    const ms = (d: Date, delta: number) => new Date(d.getTime() + delta);
    assert.equal(await names(30), "d10", "d30 ends exactly at now + 30 days: outside; revoked and superseded ones never count");
    clock.now = ms(start, 1);
    assert.equal(await names(30), "d10,d30", "one millisecond later it is inside");
    clock.now = later(start, 30);
    assert.equal(await names(1), "d30", "at its notAfter it is still valid, and listed");
    clock.now = ms(later(start, 30), 1);
    assert.equal(await names(1), "d31", "a millisecond after, expired: not listed; d31 is");
    assert.equal(await names(0), "", "0 days: nothing");
  } finally {
    await t.cleanup();
  }
});
