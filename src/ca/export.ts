import { createPkcs12 } from "../crypto/pkcs12.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { SECRET_MODE } from "./home.js";
import { type CertificateView, statusOf, viewOf } from "./views.js";

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
  const rec = core.find(params.target);
  if (rec.kind === "root") throw new PkiError("usage", "pki does not export the root CA key", "clients only need ca.pem");
  if (!rec.keyEncrypted) throw new PkiError("invalid", `"${rec.name}" was issued from a CSR: pki does not hold its key`, "the holder builds the .p12 with their own key");
  if (params.password.length === 0) throw new PkiError("secret", "the PKCS#12 password is empty", "macOS and Firefox cannot import a .p12 with an empty password");
  if (statusOf(rec, now) === "revoked") throw new PkiError("conflict", `"${rec.name}" (serial ${rec.serial}) is revoked`, `issue a new one with: pki renew ${rec.name}`);
  const root = await core.unlockRoot();
  const keyPkcs8 = await core.decryptKey(rec.keyEncrypted, root.passphrase);
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
