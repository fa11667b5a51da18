import { toPem } from "../crypto/pem.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { type FileAccess, FileBatch, PUBLIC_MODE } from "./home.js";
import { type CertificateView, viewOf, when } from "./views.js";

/**
 * pem: the certificate; der: the same, binary; chain: the CA only (what a server sends after
 * its own certificate, or what nginx's ssl_client_certificate wants); fullchain: the
 * certificate then the CA; p7b: both in a certs-only PKCS#7, DER (Windows, Java keytool).
 */
export const CERTIFICATE_FORMATS = ["pem", "der", "chain", "fullchain", "p7b"] as const;
export type CertificateFormat = (typeof CERTIFICATE_FORMATS)[number];

export interface CertificateExport {
  view: CertificateView;
  format: CertificateFormat;
  data: string | Uint8Array;
  /** Where it was written, or null when the caller prints `data`. */
  file: string | null;
  warnings: string[];
}

/** A certificate in `format`, written to `out` (mode 0644, atomically) when given. Public data: nothing is recorded. */
/** `access`: --owner, --group and --mode for `out`; without them a file it replaces keeps its own. */
export async function exportCertificate(core: CaCore, ctx: Context, params: { target: string; format: CertificateFormat; out?: string; access?: FileAccess }): Promise<CertificateExport> {
  const rec = await core.ledger.read((r) => core.find(r, params.target));
  const view = viewOf(rec, ctx.now);
  const warnings: string[] = [];
  if (view.status === "revoked") warnings.push(`"${rec.name}" (serial ${rec.serial}) was revoked on ${when(rec.revokedAt!)}: servers refuse it`);
  if (view.status === "expired") warnings.push(`"${rec.name}" (serial ${rec.serial}) expired on ${when(rec.notAfter)}: servers refuse it`);
  if (view.status === "superseded") warnings.push(`serial ${rec.serial} of "${rec.name}" is superseded by ${rec.supersededBy}`);
  const ca = (await core.issuerOf(rec)).der;
  const isRoot = rec.kind === "root";
  const data = await encode(params.format, rec.der, ca, isRoot);
  if (params.out !== undefined) {
    const batch = new FileBatch();
    batch.stage(params.out, data, PUBLIC_MODE, undefined, { keepExisting: true, ...params.access });
    await batch.commit();
  }
  return { view, format: params.format, data, file: params.out ?? null, warnings };
}

async function encode(format: CertificateFormat, leaf: Uint8Array, ca: Uint8Array, isRoot: boolean): Promise<string | Uint8Array> {
  // The root is its own chain: listing it twice would make some servers send it twice.
  const chain = isRoot ? [leaf] : [leaf, ca];
  switch (format) {
    case "pem":
      return toPem(leaf, "CERTIFICATE");
    case "der":
      return leaf;
    case "chain":
      return toPem(ca, "CERTIFICATE");
    case "fullchain":
      return chain.map((der) => toPem(der, "CERTIFICATE")).join("");
    case "p7b":
      return (await import("../crypto/pkcs7.js")).certsOnlyPkcs7(chain);
  }
}
