import type { CertificateKind, CertificateRecord, CertificateSummary } from "../ledger/ledger.js";
import { CrlReason } from "../crypto/crl-reason.js";

export { CrlReason };

export const DAY_MS = 86_400_000;

export type CertificateStatus = "valid" | "revoked" | "expired" | "superseded";

/** What a certificate is now: revoked and superseded are recorded; expired is derived from the clock. */
export function statusOf(rec: Pick<CertificateRecord, "state" | "notAfter">, now: Date): CertificateStatus {
  if (rec.state === "revoked") return "revoked";
  if (rec.state === "superseded") return "superseded";
  return rec.notAfter < now.toISOString() ? "expired" : "valid";
}

/** A certificate as commands print it and as `--json` documents it. */
export interface CertificateView {
  name: string;
  kind: CertificateKind;
  serial: string;
  subject: string;
  status: CertificateStatus;
  notBefore: string;
  notAfter: string;
  revokedAt: string | null;
  revocationReason: string | null;
  supersededBy: string | null;
  hasKey: boolean;
  /** The generation of the root that signed it ("G1", "G2" after pki rotate-root), when the caller knows the roots. */
  root?: string;
}

/** Root serial → generation label, for viewOf. */
export type RootLabels = ReadonlyMap<string, string>;

export function viewOf(rec: CertificateRecord | CertificateSummary, now: Date, roots?: RootLabels): CertificateView {
  const root = roots && (rec.issuer === null ? roots.values().next().value : roots.get(rec.issuer));
  return {
    name: rec.name,
    kind: rec.kind,
    serial: rec.serial,
    subject: rec.subject,
    status: statusOf(rec, now),
    notBefore: rec.notBefore,
    notAfter: rec.notAfter,
    revokedAt: rec.revokedAt,
    revocationReason: rec.revocationReason === null ? null : (CrlReason[rec.revocationReason] ?? String(rec.revocationReason)),
    supersededBy: rec.supersededBy,
    hasKey: "hasKey" in rec ? rec.hasKey : rec.keyEncrypted !== null,
    ...(root ? { root } : {}),
  };
}

/** The one date format of human output and messages, "2027-12-01 14:03 UTC"; JSON keeps ISO 8601. */
export function when(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const s = t.toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 16)} UTC`;
}

export const REVOCATION_REASONS = Object.keys(CrlReason).filter((k) => Number.isNaN(Number(k))) as (keyof typeof CrlReason)[];
