// The delegated OCSP responder of `pki serve --ocsp-signer delegated` (RFC 6960 4.2.2.2): a
// short-lived certificate from the root for OCSP alone (id-kp-OCSPSigning, id-pkix-ocsp-nocheck,
// neither clientAuth nor serverAuth), recorded in the ledger like any issuance. Its key is made
// by serve and held only in its memory: no file to steal or leave behind, and a restart or a
// renewal simply certifies a new key; the root key is still needed to issue it, so nothing is
// lost by not keeping it.
import { generateKeyPairSync, type KeyObject, sign as nodeSign } from "node:crypto";
import { SIGNATURE_ALGORITHMS } from "../crypto/algorithms.js";
import { EXTENDED_KEY_USAGES, type ExtensionsSpec } from "../crypto/extensions.js";
import { OcspIssuer, type OcspSigner } from "../crypto/ocsp.js";
import { x509 } from "../crypto/provider.js";
import type { Signer } from "../crypto/signer.js";
import type { CertificateRecord } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { signLeaves } from "./sign-leaves.js";

/** The ledger name of the responder certificate; one valid at a time, each renewal superseding the last. */
export const RESPONDER_NAME = "pki-ocsp-responder";

/** Who signs OCSP answers: the CA itself, or a delegated responder. */
export interface ResponderIdentity {
  signer: OcspSigner;
  /** ResponderID byKey: SHA-1 of the signing key's public key bits. */
  keyHash: Uint8Array;
  /** Sent in every answer's certs field. */
  certificate: Uint8Array;
  /** No answer is valid past its signer's certificate; null for the CA. */
  notAfter: Date | null;
}

export interface DelegatedResponder extends ResponderIdentity {
  serial: string;
  /** The serial of the root that issued it: the one root it answers for. */
  root: string;
  issuedAt: Date;
  notAfter: Date;
}

const OCSP_SIGNING = EXTENDED_KEY_USAGES.OCSPSigning!;

const EXTENSIONS: ExtensionsSpec = {
  basicConstraints: { critical: true, ca: false },
  keyUsage: { critical: true, usages: ["digitalSignature"] },
  extendedKeyUsage: { critical: false, purposes: [OCSP_SIGNING] },
  ocspNoCheck: true,
};

/**
 * Issues a responder certificate valid `lifetimeSeconds` (never past the root) for a new P-256
 * key, superseding the previous responder certificate. A name held by anything else is refused.
 */
export async function issueDelegatedResponder(core: CaCore, ctx: Context, rootSigner: Signer, lifetimeSeconds: number): Promise<DelegatedResponder> {
  const now = ctx.now;
  const previous = await core.ledger.read(async (r) => (await r.activeByName(RESPONDER_NAME, "client")) ?? (await r.activeByName(RESPONDER_NAME, "server")));
  if (previous && !isResponderCertificate(previous)) {
    throw new PkiError("conflict", `--ocsp-signer delegated: "${RESPONDER_NAME}" is the name of a certificate that is not pki's OCSP responder (serial ${previous.serial})`, `revoke it, or serve with --ocsp-signer ca`, "NAME_TAKEN");
  }
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const notAfter = new Date(Math.min(now.getTime() + lifetimeSeconds * 1000, Date.parse(core.root.notAfter)));
  const rootCn = new x509.X509Certificate(core.root.der).subjectName.getField("CN")[0] ?? "pki";
  const { leaves: [leaf] } = await signLeaves(core, ctx, rootSigner, [
    {
      name: RESPONDER_NAME,
      kind: "client",
      subject: [{ type: "CN", value: `${rootCn.slice(0, 64 - " OCSP responder".length)} OCSP responder` }],
      extensions: EXTENSIONS,
      publicKey: new x509.PublicKey(new Uint8Array(spki)),
      // Not stored: keyEncrypted null keeps it out of the ledger and the home.
      keyPkcs8: new Uint8Array(privateKey.export({ type: "pkcs8", format: "der" })),
      keyEncrypted: null,
      csrDer: null,
      notAfter,
      action: previous ? "renewed" : "issued",
      ...(previous ? { renews: previous } : {}),
    },
  ]);
  const der = leaf!.record.der;
  return {
    signer: keySigner(privateKey),
    keyHash: OcspIssuer.fromCertificate(der).keyHash(),
    certificate: der,
    serial: leaf!.record.serial,
    root: leaf!.record.issuer ?? core.root.serial,
    issuedAt: now,
    notAfter: new Date(leaf!.record.notAfter),
  };
}

/** Signs synchronously with the key object: ECDSA P-256, DER signatures. */
function keySigner(key: KeyObject): OcspSigner {
  return { algorithm: SIGNATURE_ALGORITHMS["ec-p256"].identifier, sign: async (data) => new Uint8Array(nodeSign("sha256", data, key)) };
}

function isResponderCertificate(rec: CertificateRecord): boolean {
  const eku = new x509.X509Certificate(rec.der).getExtension(x509.ExtendedKeyUsageExtension);
  return rec.keyEncrypted === null && !!eku && eku.usages.map(String).includes(OCSP_SIGNING) && eku.usages.length === 1;
}
