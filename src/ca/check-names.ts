import type { CertificateSummary } from "../ledger/ledger.js";
import type { Finding } from "./check.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { nameKey } from "./names.js";
import { statusOf } from "./views.js";

/**
 * Finds names held by more than one active certificate (ledgers from before the one-name
 * rule: a client and a server certificate under one name overwrote each other's files).
 * `--repair` keeps the first valid one, the one the later issuance should have been refused
 * in favour of and what servers configured before the clash use, and marks the others
 * superseded by it. They are not revoked (a holder may still use one; pki revoke --serial
 * ends it); the files check that follows rewrites the outputs from the one kept.
 */
export async function checkNameClaims(core: CaCore, ctx: Context, repair: boolean): Promise<Finding[]> {
  const now = ctx.now;
  const groups = new Map<string, CertificateSummary[]>();
  for (const c of await core.ledger.read((r) => r.activeNameClashes())) {
    const key = nameKey(c.name);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  if (groups.size === 0) return [{ check: "names", level: "ok", message: "every name has at most one current certificate" }];
  const findings: Finding[] = [];
  const resolutions: { kept: CertificateSummary; others: CertificateSummary[] }[] = [];
  for (const holders of groups.values()) {
    const kept = holders.find((h) => statusOf(h, now) === "valid") ?? holders.at(-1)!;
    const others = holders.filter((h) => h !== kept);
    resolutions.push({ kept, others });
    const list = holders.map((h) => `${h.kind} "${h.name}" ${h.serial} (issued ${h.createdAt.slice(0, 10)}, ${statusOf(h, now)})`).join(", ");
    const shared = holders.every((h) => h.name === holders[0]!.name) ? `; they share certs/${kept.name}.pem` : "; names that differ only in case are one file on case-insensitive file systems";
    findings.push({
      check: "names",
      level: "error",
      message: `${holders.length} current certificates claim the name "${kept.name}": ${list}${shared}`,
      fix: `run: pki check --repair (keeps ${kept.kind} ${kept.serial}; the others become superseded, not revoked: pki revoke --serial SERIAL ends one)`,
      repaired: repair,
    });
  }
  if (repair && resolutions.length > 0) {
    await core.change(ctx, async (tx) => {
      for (const { kept, others } of resolutions) {
        for (const o of others) {
          await tx.markSuperseded(o.serial, kept.serial);
          await tx.appendEvent(core.event(ctx, "superseded", o.serial, { name: o.name, by: kept.serial, why: "name-clash", repair: true }));
        }
      }
    });
  }
  return findings;
}
