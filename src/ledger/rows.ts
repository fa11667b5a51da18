// Rows as both engines return them, and their mapping to the ledger's records: the columns are
// the same in SQLite and PostgreSQL, only placeholders and boolean results differ.
import type { CertificateKind, CertificateQuery, CertificateRecord, CertificateState, CertificateSummary } from "./ledger.js";

export interface CertificateRow {
  serial: string;
  name: string;
  kind: CertificateKind;
  subject: string;
  not_before: string;
  not_after: string;
  der: Buffer;
  key_encrypted: Buffer | null;
  csr: Buffer | null;
  state: CertificateState;
  revoked_at: string | null;
  revocation_reason: number | null;
  superseded_by: string | null;
  created_at: string;
  issuer: string | null;
}

/** SQLite answers `IS NOT NULL` with 0 or 1, PostgreSQL with a boolean. */
export type SummaryRow = Omit<CertificateRow, "der" | "key_encrypted" | "csr"> & { cursor: number; has_key: boolean | number };

export const SUMMARY_COLUMNS = `serial, name, kind, subject, not_before, not_after, state, revoked_at, revocation_reason, superseded_by, created_at, issuer,
  key_encrypted IS NOT NULL AS has_key`;

export function fromSummaryRow(r: SummaryRow): CertificateSummary {
  return {
    serial: r.serial, name: r.name, kind: r.kind, subject: r.subject, notBefore: r.not_before, notAfter: r.not_after, state: r.state,
    revokedAt: r.revoked_at, revocationReason: r.revocation_reason, supersededBy: r.superseded_by, createdAt: r.created_at, issuer: r.issuer, hasKey: Boolean(r.has_key),
  };
}

export function fromCertificateRow(r: CertificateRow): CertificateRecord {
  return {
    serial: r.serial,
    name: r.name,
    kind: r.kind,
    subject: r.subject,
    notBefore: r.not_before,
    notAfter: r.not_after,
    der: new Uint8Array(r.der),
    keyEncrypted: r.key_encrypted && new Uint8Array(r.key_encrypted),
    csr: r.csr && new Uint8Array(r.csr),
    state: r.state,
    revokedAt: r.revoked_at,
    revocationReason: r.revocation_reason,
    supersededBy: r.superseded_by,
    createdAt: r.created_at,
    issuer: r.issuer,
  };
}

/** A query's WHERE clauses and their parameters; `placeholder(n)` spells the n-th parameter (`?` or `$n`). */
export function certificateFilter(q: CertificateQuery, placeholder: (n: number) => string): [string[], unknown[]] {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (column: string, op: string, value: unknown) => {
    params.push(value);
    where.push(`${column} ${op} ${placeholder(params.length)}`);
  };
  if (q.kind) add("kind", "=", q.kind);
  if (q.state) add("state", "=", q.state);
  if (q.name) add("name", "=", q.name);
  if (q.issuer) add("issuer", "=", q.issuer);
  if (q.notAfterFrom) add("not_after", ">=", q.notAfterFrom);
  if (q.notAfterBefore) add("not_after", "<", q.notAfterBefore);
  if (q.withKey) where.push("key_encrypted IS NOT NULL");
  return [where, params];
}
