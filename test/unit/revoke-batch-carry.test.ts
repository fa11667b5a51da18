import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import type { CaCore } from "../../src/ca/core.js";
import { BatchInterrupted } from "../../src/ca/revocation-batch.js";
import { CrlReason } from "../../src/crypto/crl-reason.js";
import type { LedgerWriter } from "../../src/ledger/ledger.js";
import { testAuthority, type TestAuthority } from "../authority-home.js";
import { openssl } from "../helpers.js";

const NAMES = ["c1", "c2", "c3", "c4", "c5", "c6"];

/** Six certificates to revoke in three chunks of two, and one revoked an hour before (so the carried list starts non-empty). */
async function sixAndOneRevoked(t: TestAuthority): Promise<{ serials: string[]; early: string }> {
  const { authority, ctx, clock } = t;
  const serials = [];
  for (const name of NAMES) serials.push((await authority.issue(ctx(), { name, kind: "client" })).view.serial);
  const early = (await authority.issue(ctx(), { name: "early", kind: "client" })).view.serial;
  await authority.revoke(ctx(), "early", CrlReason.superseded);
  clock.now = new Date(clock.now.getTime() + 3_600_000);
  return { serials, early };
}

/** How many times the ledger's revoked list is read whole (revokedEntries without an issuer, or revokedLines) from now on. */
function countListReads(core: CaCore): { reads: number } {
  const counter = { reads: 0 };
  const write = core.ledger.write.bind(core.ledger);
  core.ledger.write = (<T>(fn: (tx: LedgerWriter) => Promise<T>) =>
    write((tx) =>
      fn(
        new Proxy(tx, {
          get(target, prop) {
            const value: unknown = Reflect.get(target, prop, target);
            if (prop === "revokedEntries") return (issuer?: string) => (issuer === undefined && counter.reads++, target.revokedEntries(issuer));
            if (prop === "revokedLines") return () => (counter.reads++, target.revokedLines());
            return typeof value === "function" ? value.bind(target) : value;
          },
        }),
      ),
    )) as CaCore["ledger"]["write"];
  return counter;
}

function sqlite(t: TestAuthority, sql: string, ...params: unknown[]): void {
  const db = new Database(t.home.ledger);
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

const lines = NAMES.map((target, i) => ({ line: i + 1, target }));

test("revoke --from carries the verified revoked list between chunks: read whole by the first chunk and the last, not twice by every chunk, and the CRL, check and audit agree", async () => {
  const t = await testAuthority();
  try {
    const { authority, ctx } = t;
    const { serials, early } = await sixAndOneRevoked(t);
    const core = (authority as unknown as { core: CaCore }).core;
    const counter = countListReads(core);
    const result = await authority.revokeBatch(ctx(), { lines, reason: CrlReason.keyCompromise, chunkSize: 2 });
    assert.equal(result.revoked.length, 6);
    // First chunk: its anchor check; last chunk: its check and the CRL after its revocations (the anchor reuses that).
    assert.equal(counter.reads, 3);

    const crl = openssl(["crl", "-in", t.home.crl, "-CAfile", t.home.caCertificate, "-noout", "-text"]);
    assert.match(crl.stderr + crl.stdout, /verify OK/);
    for (const s of [...serials, early]) assert.match(crl.stdout, new RegExp(s.toUpperCase()));
    assert.equal(result.crl.revoked, 7);
    // The anchor left by the carried chunks vouches for the ledger as it is: later changes pass their check.
    assert.equal((await authority.generateCrl(ctx(), {})).revoked, 7);
    assert.equal((await authority.check(ctx(), false)).filter((f) => f.level === "error").length, 0);
    const audit = await authority.verifyAudit();
    assert.equal(audit.ok, true, audit.problems.join("\n"));
  } finally {
    await t.cleanup();
  }
});

/** Runs the batch in chunks of 2 with `sql` applied to the early revocation after the first chunk; returns what it threw. */
async function tamperedRun(t: TestAuthority, sql: string): Promise<BatchInterrupted> {
  const { early } = await sixAndOneRevoked(t);
  let tampered = false;
  const e = await t.authority
    .revokeBatch(t.ctx(), {
      lines, reason: CrlReason.keyCompromise, chunkSize: 2,
      onProgress: () => {
        if (!tampered) sqlite(t, sql, early);
        tampered = true;
      },
    })
    .then(() => assert.fail("the batch should be refused"), (err: unknown) => err);
  assert.ok(e instanceof BatchInterrupted, String(e));
  assert.equal(e.code, "LEDGER_TAMPERED");
  assert.equal(e.crl, null, "no CRL is signed over a tampered ledger");
  return e;
}

test("revoke --from: a revocation re-dated outside pki between chunks is refused before the CRL is signed (LEDGER_TAMPERED)", async () => {
  const t = await testAuthority();
  try {
    const e = await tamperedRun(t, "UPDATE certificates SET revoked_at = '2029-06-01T00:00:00.000Z' WHERE serial = ?");
    assert.match(e.message, /differ from the history's/);
  } finally {
    await t.cleanup();
  }
});

test("revoke --from: a revocation undone outside pki between chunks is refused at the next chunk (the ledger's count)", async () => {
  const t = await testAuthority();
  try {
    const e = await tamperedRun(t, "UPDATE certificates SET state = 'active', revoked_at = NULL, revocation_reason = NULL WHERE serial = ?");
    assert.equal(e.revoked, 2, "only the first chunk committed");
    assert.match(e.message, /no longer revoked/);
  } finally {
    await t.cleanup();
  }
});
