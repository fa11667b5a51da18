import { createPkcs12 } from "../crypto/pkcs12.js";
import { encryptedKeyPem, encryptPrivateKey } from "../crypto/keys.js";
import { toPem } from "../crypto/pem.js";
import type { Blob, CertificateRecord, NewEvent } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { crashPoint } from "./crash-point.js";
import { PkiError } from "./errors.js";
import { type FileAccess, FileBatch, SECRET_MODE } from "./home.js";
import { exportPasswordProblem } from "./secret-strength.js";
import { shellQuote } from "./shell-quote.js";
import { type CertificateView, statusOf, viewOf, when } from "./views.js";

/** The certificate `target` names, if pki holds a key it may hand out: the refusals every export shares. */
export function exportable(rec: CertificateRecord): CertificateRecord & { keyEncrypted: Blob } {
  if (rec.kind === "root") throw new PkiError("invalid", "pki never exports the root CA key", "clients only need ca.pem", "ROOT_REFUSED");
  if (!rec.keyEncrypted) throw new PkiError("invalid", `"${rec.name}" was issued from a CSR: pki does not hold its key`, "its holder makes the file with their own key");
  return rec as CertificateRecord & { keyEncrypted: Blob };
}

export type ExportFormat = "pkcs12" | "key" | "mobileconfig";

/**
 * The certificate an export would hand out, checked before any secret is asked. Revoked and
 * expired certificates are refused without `force` (servers refuse them: the holder would
 * install something that cannot work); a superseded one is exported with a warning, since
 * its successor is what should be handed out.
 */
export async function exportCandidate(core: CaCore, ctx: Context, target: string, format: ExportFormat, force: boolean): Promise<{ rec: CertificateRecord & { keyEncrypted: Blob }; view: CertificateView; warnings: string[] }> {
  const now = ctx.now;
  const rec = exportable(await core.ledger.read((r) => core.find(r, target)));
  if (format === "mobileconfig" && rec.kind !== "client") throw new PkiError("usage", `"${rec.name}" is a ${rec.kind} certificate; a phone profile holds a client certificate`);
  const status = statusOf(rec, now);
  const warnings: string[] = [];
  if (status === "revoked" || status === "expired") {
    const what = status === "revoked" ? `was revoked on ${when(rec.revokedAt!)}` : `expired on ${when(rec.notAfter)}`;
    if (!force) {
      throw new PkiError("invalid", `"${rec.name}" (serial ${rec.serial}) ${what}: servers refuse it`, `issue a new one with: pki renew ${shellQuote(rec.name)} (or export it anyway with --force)`, status === "revoked" ? "CERTIFICATE_REVOKED" : "CERTIFICATE_EXPIRED");
    }
    warnings.push(`"${rec.name}" (serial ${rec.serial}) ${what}; exporting it anyway (--force): servers refuse it`);
  } else if (status === "superseded") {
    warnings.push(`serial ${rec.serial} of "${rec.name}" is superseded by ${rec.supersededBy}; "pki ${format === "pkcs12" ? "export-p12" : format === "key" ? "export-key" : "export-mobileconfig"} ${shellQuote(rec.name)}" exports the current one`);
  }
  return { rec, view: viewOf(rec, now), warnings };
}

/** The private key of an exportable certificate, decrypted with the CA passphrase. */
export async function decryptedKey(core: CaCore, rec: CertificateRecord & { keyEncrypted: Blob }): Promise<Uint8Array> {
  return core.unsealKey(rec.keyEncrypted, rec);
}

export interface ExportParams {
  target: string;
  password: string;
  legacy?: boolean;
  /** Default: HOME/private/NAME.p12. */
  out?: string;
  /** Export a revoked or expired certificate too. */
  force?: boolean;
  /** Owner, group and mode of the file (--owner, --group, --mode); an existing file's are kept otherwise. */
  access?: FileAccess;
}

/** Writes a PKCS#12 with the key, the certificate and the root, protected by `password`. */
export async function exportPkcs12(core: CaCore, ctx: Context, params: ExportParams): Promise<{ view: CertificateView; file: string }> {
  const now = ctx.now;
  const { rec } = await exportCandidate(core, ctx, params.target, "pkcs12", params.force ?? false);
  if (params.password.length === 0) throw new PkiError("secret", "the PKCS#12 password is empty", "macOS and Firefox cannot import a .p12 with an empty password", "EMPTY_SECRET");
  const weakPassword = exportPasswordProblem(params.password);
  if (weakPassword) throw new PkiError("secret", `the PKCS#12 password ${weakPassword}`, undefined, "WEAK_PASSWORD");
  const keyPkcs8 = await decryptedKey(core, rec);
  const der = await createPkcs12({
    privateKey: keyPkcs8,
    certificate: rec.der,
    caCertificates: [(await core.issuerOf(rec)).der],
    password: params.password,
    friendlyName: rec.name,
    legacy: params.legacy ?? false,
  });
  const file = params.out ?? core.home.pkcs12(rec.name);
  await recordThenWrite(core, ctx, core.event(ctx, "exported", rec.serial, { name: rec.name, format: params.legacy ? "pkcs12-legacy" : "pkcs12", file }), file, der, params.access);
  return { view: viewOf(rec, now), file };
}

export interface ExportKeyParams {
  target: string;
  out: string;
  /** Encrypt under this password (for nginx `ssl_password_file`); null writes the key in the clear. */
  password: string | null;
  /** Put the certificate before the key in the same file (HAProxy's `crt` format). */
  withCertificate?: boolean;
  /** Export the key of a revoked or expired certificate too. */
  force?: boolean;
  /** Owner, group and mode of the file (--owner, --group, --mode); an existing file's are kept otherwise. */
  access?: FileAccess;
}

/** Writes a certificate's private key for a server that needs it as a file (mode 0600). */
export async function exportKey(core: CaCore, ctx: Context, params: ExportKeyParams): Promise<{ view: CertificateView; file: string; encrypted: boolean }> {
  const now = ctx.now;
  const { rec } = await exportCandidate(core, ctx, params.target, "key", params.force ?? false);
  if (params.password !== null && params.password.length === 0) throw new PkiError("secret", "the key password is empty", "use --unencrypted to write the key in the clear, deliberately", "EMPTY_SECRET");
  const weakPassword = params.password === null ? null : exportPasswordProblem(params.password);
  if (weakPassword) throw new PkiError("secret", `the key password ${weakPassword}`, undefined, "WEAK_PASSWORD");
  const pkcs8 = await decryptedKey(core, rec);
  const keyPem = params.password === null ? toPem(pkcs8, "PRIVATE KEY") : encryptedKeyPem(await encryptPrivateKey(pkcs8, params.password));
  const content = (params.withCertificate ? toPem(rec.der, "CERTIFICATE") : "") + keyPem;
  await recordThenWrite(core, ctx, core.event(ctx, "key-exported", rec.serial, { name: rec.name, file: params.out, encrypted: params.password !== null }), params.out, content, params.access);
  return { view: viewOf(rec, now), file: params.out, encrypted: params.password !== null };
}

/**
 * Writes an exported secret after its event is committed: the log never misses a disclosure,
 * and a kill while the temporary file exists leaves an event naming its folder, where
 * `pki check` finds (and --repair removes) the leftover, which may hold a key in the clear.
 */
export async function recordThenWrite(core: CaCore, ctx: Context, event: NewEvent, path: string, data: string | Uint8Array, access: FileAccess = {}): Promise<void> {
  const files = new FileBatch({ home: core.home.dir });
  files.writable(path);
  await core.change(ctx, async (tx) => void (await tx.appendEvent(event)));
  files.stage(path, data, SECRET_MODE, undefined, { keepExisting: true, ...access });
  crashPoint("export-staged");
  await files.commit();
}

/** A certificate's private key as unencrypted PKCS#8 PEM, in memory only (pki doctor presents it to a server). */
export async function privateKeyPem(core: CaCore, target: string): Promise<string | null> {
  const rec = await core.ledger.read((r) => core.find(r, target));
  if (rec.kind === "root" || !rec.keyEncrypted) return null;
  return toPem(await core.unsealKey(rec.keyEncrypted, rec), "PRIVATE KEY");
}
