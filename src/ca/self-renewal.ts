// A holder renews its own certificate from a new CSR (POST /v1/renew): the same name, kind,
// subject and extensions, the holder's new public key, the old certificate superseded as
// `pki renew` does. The CA never sees the new key.
import { publicKeyType, readVerifiedCsr } from "../crypto/certificates.js";
import { CryptoError } from "../crypto/errors.js";
import { readExtensions } from "../crypto/extensions.js";
import { x509 } from "../crypto/provider.js";
import type { CertificateRecord } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { checkCsrAgainstProfile, leafNotAfter, revokedForKeyCompromise } from "./issuance.js";
import { usagesForKey } from "./key-usage.js";
import { signLeaves } from "./sign-leaves.js";
import { type CertificateView, viewOf } from "./views.js";

export interface SelfRenewal {
  record: CertificateRecord;
  previous: CertificateView;
}

export async function renewFromCsr(core: CaCore, ctx: Context, old: CertificateRecord, csrData: Uint8Array): Promise<SelfRenewal> {
  if (old.kind === "root") throw new PkiError("invalid", "the root CA cannot be renewed", undefined, "ROOT_REFUSED");
  const csr = await readVerifiedCsr(csrData).catch((e: unknown) => {
    if (e instanceof CryptoError) throw new PkiError("invalid", `the CSR was refused: ${e.message}`, undefined, e.code === "unsupported" ? "UNSUPPORTED_ALGORITHM" : undefined);
    throw e;
  });
  const compromised = await core.ledger.read((r) => revokedForKeyCompromise(r, csr.publicKey));
  if (compromised) {
    throw new PkiError("invalid", `the CSR's key is the key of certificate ${compromised.serial} ("${compromised.name}"), revoked for keyCompromise: it must never be certified again`, "make a new key and CSR", "KEY_COMPROMISED");
  }
  const oldCert = new x509.X509Certificate(old.der);
  const extensions = readExtensions(oldCert.extensions);
  checkCsrAgainstProfile(csr, extensions);
  const notAfter = leafNotAfter(core, ctx.now, undefined);
  const signer = await core.rootSigner();
  const { leaves: [leaf] } = await signLeaves(core, ctx, signer, [{
    name: old.name, kind: old.kind, subject: oldCert.subjectName, extensions: usagesForKey(extensions, publicKeyType(csr.publicKey)!),
    publicKey: csr.publicKey, keyPkcs8: null, keyEncrypted: null, csrDer: new Uint8Array(csr.rawData), notAfter, action: "renewed", renews: old,
  }]);
  const previous = await core.ledger.read((r) => r.bySerial(old.serial));
  return { record: leaf!.record, previous: viewOf(previous!, ctx.now) };
}
