import type { CertificateSummary, LedgerReader } from "../ledger/ledger.js";
import { PkiError, shown } from "./errors.js";
import { shellQuote } from "./shell-quote.js";
import { statusOf, when } from "./views.js";

/**
 * The one-name rule: a name has at most one valid certificate, whatever its kind, because
 * the name is the certificate's files (certs/NAME.pem, private/NAME.key) and what people
 * type to renew or revoke it. Names are compared after NFC and case folding (nameKey).
 *
 * Throws NAME_TAKEN when a valid certificate other than `replacing` holds `name`; returns
 * the expired holders, which the new certificate supersedes. Call it again under the write
 * lock before inserting: the first call only fails early, the second one decides.
 */
export async function claimName(r: LedgerReader, name: string, now: Date, replacing?: string): Promise<CertificateSummary[]> {
  const holders = (await r.activeSharingName(name)).filter((h) => h.serial !== replacing);
  const valid = holders.find((h) => statusOf(h, now) === "valid");
  if (valid) throw nameTaken(name, valid, replacing !== undefined);
  return holders;
}

function nameTaken(name: string, holder: CertificateSummary, renewing: boolean): PkiError {
  const what = `a valid ${holder.kind === "root" ? "root CA" : holder.kind} certificate (serial ${holder.serial}, until ${when(holder.notAfter)})`;
  const message = holder.name === name
    ? `"${shown(name)}" already has ${what}`
    : `"${shown(name)}" is the same name as "${shown(holder.name)}" (names differ only in case or Unicode form), which has ${what}`;
  if (holder.kind === "root") return new PkiError("conflict", message, "choose another name", "NAME_TAKEN");
  if (renewing) return new PkiError("conflict", `${message}: a name must identify one certificate`, "resolve it with: pki check --repair", "NAME_TAKEN");
  return new PkiError("conflict", message, `to replace it run: pki renew ${shellQuote(holder.name)}`, "NAME_TAKEN");
}
