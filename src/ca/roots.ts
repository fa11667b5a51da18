// The roots of a CA across rotations (pki rotate-root): generation 1 is the first root; during an
// overlap the current root signs everything new while the older ones it replaced are still
// trusted, each with its own CRL, until rotate-root --finish retires them.
import { crlPem } from "../crypto/pem.js";
import { toPem } from "../crypto/pem.js";
import type { CrlRecord, LedgerReader, RootRecord } from "../ledger/ledger.js";

export type { RootRecord } from "../ledger/ledger.js";

/** The roots servers trust now, the current one first (the one every new certificate chains to). */
export function trustedRoots(roots: readonly RootRecord[]): RootRecord[] {
  return roots.filter((r) => r.retiredAt === null).reverse();
}

/** "G2": how a generation is named in the root's CN, the URLs and the listings. */
export function generationLabel(generation: number): string {
  return `G${generation}`;
}

/**
 * ca.pem: every trusted root, current first. nginx and OpenSSL load every certificate of the
 * file and pick the issuer by name and key identifier, so for them order does not matter; tools
 * that read only the first certificate (keytool -importcert, many appliances' "upload CA" forms)
 * get the root that outlives the overlap.
 */
export function caBundlePem(roots: readonly RootRecord[]): string {
  return trustedRoots(roots)
    .map((r) => toPem(r.record.der, "CERTIFICATE"))
    .join("");
}

/**
 * The newest CRL of each trusted root, current root first. Each change signs the older roots'
 * CRLs before the current one's, so the first CRL of crl.pem carries the highest number, which
 * is what crlNumberOnDisk reads.
 */
export async function latestCrls(r: LedgerReader, roots?: readonly RootRecord[]): Promise<CrlRecord[]> {
  const out: CrlRecord[] = [];
  for (const root of trustedRoots(roots ?? (await r.roots()))) {
    const crl = await r.latestCrl(root.record.serial);
    if (crl) out.push(crl);
  }
  return out;
}

/** crl.pem: the CRLs of latestCrls, concatenated (nginx's ssl_crl and OpenSSL's -CRLfile read every CRL of a file). */
export function crlBundlePem(crls: readonly CrlRecord[]): string {
  return crls.map((c) => crlPem(c.der)).join("");
}

/** The root with this serial, or generation 1's for rows written before issuers were recorded. */
export function rootOf(roots: readonly RootRecord[], issuer: string | null): RootRecord | undefined {
  return issuer === null ? roots[0] : roots.find((r) => r.record.serial === issuer);
}
