import { generateKeyPair as generateNodeKeyPair } from "node:crypto";
import { promisify } from "node:util";
import type { KeyType } from "../crypto/algorithms.js";
import { createLeafCertificate, type NameAttribute } from "../crypto/certificates.js";
import { CrlReason } from "../crypto/crl-reason.js";
import type { ExtensionsSpec } from "../crypto/extensions.js";
import type { EncodedName, LeafTemplate } from "../crypto/leaf-template.js";
import { encryptedKeyPem, signingAlgorithm } from "../crypto/keys.js";
import { toPem } from "../crypto/pem.js";
import { x509 } from "../crypto/provider.js";
import type { Signer } from "../crypto/signer.js";
import type { CertificateKind, CertificateRecord, LedgerReader } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { PUBLIC_MODE, SECRET_MODE } from "./home.js";
import { leafRecordOf, recordOf, storedKeyIs } from "./records.js";
import { generationLabel } from "./roots.js";
import { issueCrl, type CrlResult } from "./revocation.js";
import { claimName } from "./name-claims.js";
import { settingValue } from "./settings.js";

/** notBefore is set this far in the past so servers with a slightly slow clock accept new certificates. */
export const BACKDATE_MS = 5 * 60_000;

export type LeafKind = Exclude<CertificateKind, "root">;

/** One certificate to sign, with everything slow (keys, profiles, sealing) done before the write lock. */
export type LeafRequest = LeafRequestCommon &
  (
    | { subject: NameAttribute[] | x509.Name; publicKey: x509.PublicKey }
    /** Bulk issuance: signed from the `template` signLeaves is given. */
    | { encoded: { subject: EncodedName; spki: Uint8Array } }
  );

interface LeafRequestCommon {
  name: string;
  kind: LeafKind;
  extensions: ExtensionsSpec;
  /** The new private key (PKCS#8), when pki made it; null when it came from a CSR. */
  keyPkcs8: Uint8Array | null;
  /** `keyPkcs8` sealed under the CA passphrase. */
  keyEncrypted: Uint8Array | null;
  csrDer: Uint8Array | null;
  notAfter: Date;
  action: "issued" | "renewed";
  /** A renewal's predecessor: it must still hold the name when the lock is taken. */
  renews?: CertificateRecord;
  /** Also revoke the predecessor (reason superseded); the CRL is then signed in the same transaction. */
  revokeRenewed?: boolean;
  /** Issued by `pki issue-client --from` (the event says so). */
  batch?: boolean;
  /** Also write a PKCS#12 of the new key and certificate. */
  pkcs12?: { password: string; legacy?: boolean; out?: string };
}

export interface SignedLeaf {
  record: CertificateRecord & { sha256: string };
  certificatePath: string;
  keyPath: string | null;
  pkcs12Path: string | null;
}

/**
 * The one issuance path, for single issuance, renewal and bulk: under the ledger's write lock,
 * each name's slot is checked by the same rule, a fresh serial drawn, the certificate signed by
 * `signer`, recorded with its event (with `replaces` when it takes a predecessor's place), and its
 * files staged; a revoked predecessor puts a new CRL in the same transaction.
 */
export async function signLeaves(core: CaCore, ctx: Context, signer: Signer, requests: readonly LeafRequest[], options: { durable?: boolean; background?: boolean; template?: LeafTemplate } = {}): Promise<{ leaves: SignedLeaf[]; crl: CrlResult | null }> {
  const now = ctx.now;
  core.home.create(); // restores certs/ and private/ if someone removed them
  return core.change(
    ctx,
    async (tx, files) => {
      // Under the lock: the root that signs is the one whose AIA and CDP the certificates get.
      await core.assertSignerCurrent(tx, signer);
      // Keys sealed under a passphrase that another process has since changed would open with neither.
      if (requests.some((r) => r.keyEncrypted)) await core.assertPassphraseCurrent(tx);
      // Read under the lock: a certificate carries the URL in force when it was signed.
      const pointers = revocationPointers(await settingValue(tx, "url"), await currentGeneration(tx));
      const leaves: SignedLeaf[] = [];
      let revoked = false;
      for (const p of requests) {
        if (p.renews && (await tx.bySerial(p.renews.serial))?.state !== "active") {
          throw new PkiError("conflict", `"${p.name}" (serial ${p.renews.serial}) was renewed or revoked by another pki process meanwhile`);
        }
        // Under the write lock: what decides (a name has one valid certificate, whatever its kind).
        // Expired holders of the name make way for the new certificate.
        const expiredHolders = await claimName(tx, p.name, now, p.renews?.serial);
        const replaces = [...(p.renews ? [p.renews.serial] : []), ...expiredHolders.map((h) => h.serial)];
        const serial = await core.freshSerial(tx);
        const notBefore = new Date(now.getTime() - BACKDATE_MS);
        const extensions = { ...p.extensions, ...pointers };
        let record: CertificateRecord & { sha256: string };
        if ("encoded" in p) {
          if (!options.template) throw new Error("signLeaves: an encoded request needs a template");
          const { subject, spki } = p.encoded;
          const der = await options.template.sign({ serial, notBefore, notAfter: p.notAfter, subject, spki, extensions });
          record = leafRecordOf(der, { serial, subject: subject.text, notBefore, notAfter: p.notAfter }, p.kind, p.name, p.keyEncrypted, p.csrDer, now, signer.certificate.serialNumber.toLowerCase());
        } else {
          const cert = await createLeafCertificate({ serial, notBefore, notAfter: p.notAfter, subject: p.subject, publicKey: p.publicKey, signer, extensions });
          record = recordOf(cert, p.kind, p.name, p.keyEncrypted, p.csrDer, now, signer.certificate.serialNumber.toLowerCase());
        }
        const certificatePath = core.home.certificate(p.name);
        const keyPath = p.keyEncrypted ? core.home.key(p.name) : null;
        const stillCurrent = async (r: LedgerReader) => (await r.activeByName(p.name, p.kind))?.serial === record.serial;
        files.stage(certificatePath, toPem(record.der, "CERTIFICATE"), PUBLIC_MODE, stillCurrent);
        if (p.keyEncrypted && keyPath) {
          const sealed = p.keyEncrypted;
          const keyCurrent = storedKeyIs(record.serial, sealed);
          files.stage(keyPath, encryptedKeyPem(sealed), SECRET_MODE, async (r) => (await stillCurrent(r)) && (await keyCurrent(r)));
        }
        // The old certificate leaves the "active" slot before the new one takes it (one active per name).
        if (p.renews) {
          if (p.revokeRenewed) {
            await tx.markRevoked(p.renews.serial, now.toISOString(), CrlReason.superseded);
            await tx.appendEvent(core.event(ctx, "revoked", p.renews.serial, { name: p.name, reason: "superseded" }));
            revoked = true;
          }
          await tx.markSuperseded(p.renews.serial, record.serial);
        }
        for (const h of expiredHolders) await tx.markSuperseded(h.serial, record.serial);
        await tx.insertCertificate(record);
        await tx.appendEvent(
          core.event(ctx, p.action, record.serial, {
            name: p.name, kind: p.kind, subject: record.subject, notAfter: record.notAfter, sha256: record.sha256, fromCsr: p.csrDer !== null,
            ...(replaces.length > 0 ? { replaces: replaces[0] } : {}),
            ...(replaces.length > 1 ? { alsoReplaces: replaces.slice(1) } : {}),
            ...(p.batch ? { batch: true } : {}),
          }),
        );
        let pkcs12Path: string | null = null;
        if (p.pkcs12 && p.keyPkcs8) {
          const { createPkcs12 } = await import("../crypto/pkcs12.js");
          pkcs12Path = p.pkcs12.out ?? core.home.pkcs12(p.name);
          const der = await createPkcs12({ privateKey: p.keyPkcs8, certificate: record.der, caCertificates: [new Uint8Array(signer.certificate.rawData)], password: p.pkcs12.password, friendlyName: p.name, legacy: p.pkcs12.legacy ?? false });
          files.stage(pkcs12Path, der, SECRET_MODE, stillCurrent);
          await tx.appendEvent(core.event(ctx, "exported", record.serial, { name: p.name, format: p.pkcs12.legacy ? "pkcs12-legacy" : "pkcs12", file: pkcs12Path }));
        }
        leaves.push({ record, certificatePath, keyPath, pkcs12Path });
      }
      const crl = revoked ? await issueCrl(core, ctx, tx, signer, files) : null;
      return { leaves, crl };
    },
    { ...(options.durable !== undefined ? { durable: options.durable } : {}), ...(options.background ? { background: true } : {}) },
  );
}

/**
 * With the `url` setting, where relying parties find the responder, the issuer and the CRL
 * that `pki serve --http` publishes: OCSP at {url}/ocsp, caIssuers at {url}/ca.der (one DER
 * certificate, RFC 5280 section 4.2.2.1), the CRL at {url}/crl.der.
 */
export function revocationPointers(url: string | null, generation = 1): Pick<ExtensionsSpec, "authorityInfoAccess" | "crlDistributionPoints"> {
  if (url === null) return {};
  // Generation 1 keeps the names its certificates have always carried; later roots (pki rotate-root) get their own.
  const suffix = generation === 1 ? "" : `-${generationLabel(generation)}`;
  return { authorityInfoAccess: { ocsp: [`${url}/ocsp`], caIssuers: [`${url}/ca${suffix}.der`] }, crlDistributionPoints: [`${url}/crl${suffix}.der`] };
}

/** The generation of the root that signs now (1 for a CA never rotated). */
async function currentGeneration(r: LedgerReader): Promise<number> {
  const roots = await r.roots();
  return roots.find((root) => root.record.state === "active")?.generation ?? 1;
}

const generateNodeKeyPairAsync = promisify(generateNodeKeyPair);

/** A new key pair: EC through Node's WebCrypto; RSA through Node's thread pool, so several generate in parallel. */
export async function newKey(type: KeyType): Promise<{ publicKey: x509.PublicKey; pkcs8: Uint8Array }> {
  if (type.startsWith("rsa-")) {
    const { publicKey, privateKey } = await generateNodeKeyPairAsync("rsa", {
      modulusLength: Number(type.slice(4)),
      publicKeyEncoding: { type: "spki", format: "der" },
      privateKeyEncoding: { type: "pkcs8", format: "der" },
    });
    return { publicKey: new x509.PublicKey(new Uint8Array(publicKey)), pkcs8: new Uint8Array(privateKey) };
  }
  const native = globalThis.crypto;
  const keys = (await native.subtle.generateKey(signingAlgorithm(type), true, ["sign", "verify"])) as CryptoKeyPair;
  const [spki, pkcs8] = await Promise.all([native.subtle.exportKey("spki", keys.publicKey), native.subtle.exportKey("pkcs8", keys.privateKey)]);
  return { publicKey: new x509.PublicKey(spki), pkcs8: new Uint8Array(pkcs8) };
}
