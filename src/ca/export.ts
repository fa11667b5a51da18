import { createPkcs12 } from "../crypto/pkcs12.js";
import { encryptedKeyPem, encryptPrivateKey } from "../crypto/keys.js";
import { toPem } from "../crypto/pem.js";
import type { Blob, CertificateRecord } from "../ledger/ledger.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { SECRET_MODE } from "./home.js";
import { shellQuote } from "./shell-quote.js";
import { type CertificateView, statusOf, viewOf } from "./views.js";

/** The certificate `target` names, if pki holds a key it may hand out: the refusals every export shares. */
export function exportable(core: CaCore, target: string): CertificateRecord & { keyEncrypted: Blob } {
  const rec = core.find(target);
  if (rec.kind === "root") throw new PkiError("invalid", "pki never exports the root CA key", "clients only need ca.pem", "ROOT_REFUSED");
  if (!rec.keyEncrypted) throw new PkiError("invalid", `"${rec.name}" was issued from a CSR: pki does not hold its key`, "its holder makes the file with their own key");
  return rec as CertificateRecord & { keyEncrypted: Blob };
}

/** Identity files are not made for revoked certificates: the holder would install something that cannot work. */
export function refuseRevoked(rec: CertificateRecord, now: Date): void {
  if (statusOf(rec, now) === "revoked") throw new PkiError("conflict", `"${rec.name}" (serial ${rec.serial}) is revoked`, `issue a new one with: pki renew ${shellQuote(rec.name)}`);
}

/** The private key of an exportable certificate, decrypted with the CA passphrase. */
export async function decryptedKey(core: CaCore, rec: CertificateRecord & { keyEncrypted: Blob }): Promise<Uint8Array> {
  const root = await core.unlockRoot();
  return core.decryptKey(rec.keyEncrypted, root.passphrase);
}

export interface ExportParams {
  target: string;
  password: string;
  legacy?: boolean;
  /** Default: HOME/private/NAME.p12. */
  out?: string;
}

/** Writes a PKCS#12 with the key, the certificate and the root, protected by `password`. */
export async function exportPkcs12(core: CaCore, params: ExportParams): Promise<{ view: CertificateView; file: string }> {
  const now = core.now();
  const rec = exportable(core, params.target);
  if (params.password.length === 0) throw new PkiError("secret", "the PKCS#12 password is empty", "macOS and Firefox cannot import a .p12 with an empty password");
  refuseRevoked(rec, now);
  const keyPkcs8 = await decryptedKey(core, rec);
  const der = await createPkcs12({
    privateKey: keyPkcs8,
    certificate: rec.der,
    caCertificates: [core.root.der],
    password: params.password,
    friendlyName: rec.name,
    legacy: params.legacy ?? false,
  });
  const file = params.out ?? core.home.pkcs12(rec.name);
  await core.change(async (files) => {
    files.stage(file, der, SECRET_MODE);
    core.ledger.appendEvent(core.event(now, "exported", rec.serial, { name: rec.name, format: params.legacy ? "pkcs12-legacy" : "pkcs12", file }));
  });
  return { view: viewOf(rec, now), file };
}

export interface ExportKeyParams {
  target: string;
  out: string;
  /** Encrypt under this password (for nginx `ssl_password_file`); null writes the key in the clear. */
  password: string | null;
  /** Put the certificate before the key in the same file (HAProxy's `crt` format). */
  withCertificate?: boolean;
}

/** Writes a certificate's private key for a server that needs it as a file (mode 0600). */
export async function exportKey(core: CaCore, params: ExportKeyParams): Promise<{ view: CertificateView; file: string; encrypted: boolean }> {
  const now = core.now();
  const rec = exportable(core, params.target);
  if (params.password !== null && params.password.length === 0) throw new PkiError("secret", "the key password is empty", "use --unencrypted to write the key in the clear, deliberately");
  const pkcs8 = await decryptedKey(core, rec);
  const keyPem = params.password === null ? toPem(pkcs8, "PRIVATE KEY") : encryptedKeyPem(await encryptPrivateKey(pkcs8, params.password));
  const content = (params.withCertificate ? toPem(rec.der, "CERTIFICATE") : "") + keyPem;
  await core.change(async (files) => {
    files.stage(params.out, content, SECRET_MODE);
    core.ledger.appendEvent(core.event(now, "key-exported", rec.serial, { name: rec.name, file: params.out, encrypted: params.password !== null }));
  });
  return { view: viewOf(rec, now), file: params.out, encrypted: params.password !== null };
}

/** A certificate's private key as unencrypted PKCS#8 PEM, in memory only (pki doctor presents it to a server). */
export async function privateKeyPem(core: CaCore, target: string): Promise<string | null> {
  const rec = core.find(target);
  if (rec.kind === "root" || !rec.keyEncrypted) return null;
  const root = await core.unlockRoot();
  return toPem(await core.decryptKey(rec.keyEncrypted, root.passphrase), "PRIVATE KEY");
}
