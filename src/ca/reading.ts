// What `pki list` and `pki show` read, apart from the authority: the CLI's lean start-up path
// (src/cli/lean-read.ts) runs these on a ledger it opened itself, without the crypto stack.
import { normalizeSerial } from "../crypto/serial.js";
import { type CertificateQuery, type CertificateRecord, collect, type Ledger, type LedgerReader, type RootRecord } from "../ledger/ledger.js";
import { type CertificateStatus, type CertificateView, DAY_MS, type RootLabels, viewOf } from "./views.js";

export interface ListFilter {
  status?: CertificateStatus;
  /** Only valid certificates that expire within this many days. */
  expiringDays?: number;
}

export async function listViews(ledger: Ledger, now: Date, filter: ListFilter = {}): Promise<CertificateView[]> {
  const nowIso = now.toISOString();
  const views = (q: CertificateQuery) =>
    ledger.read(async (r) => {
      const roots = rootLabels(await r.roots());
      return (await collect((page) => r.summaries(q, page))).map((s) => viewOf(s, now, roots));
    });
  if (filter.expiringDays !== undefined) {
    const until = new Date(now.getTime() + filter.expiringDays * DAY_MS).toISOString();
    return views({ state: "active", notAfterFrom: nowIso, notAfterBefore: until });
  }
  const s = filter.status;
  const q =
    s === "valid" ? { state: "active" as const, notAfterFrom: nowIso }
    : s === "expired" ? { state: "active" as const, notAfterBefore: nowIso }
    : s === "revoked" || s === "superseded" ? { state: s }
    : {};
  return views(q);
}

/** The certificate `target` names (a serial in hex, else a name), or undefined. */
export async function findCertificate(r: LedgerReader, target: string): Promise<CertificateRecord | undefined> {
  const serial = normalizeSerial(target);
  return (serial && (await r.bySerial(serial))) || (await findByName(r, target.normalize("NFC")));
}

export async function findByName(r: LedgerReader, name: string): Promise<CertificateRecord | undefined> {
  return (await r.activeByName(name, "client")) ?? (await r.activeByName(name, "server")) ?? (await r.latestByName(name));
}

export function rootLabels(roots: readonly RootRecord[]): RootLabels {
  return new Map(roots.map((r) => [r.record.serial, `G${r.generation}`]));
}
