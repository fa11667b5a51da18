import { join } from "node:path";
import { createCsr, createLeafCertificate, type NameAttribute, publicKeyType, readVerifiedCsr } from "../crypto/certificates.js";
import { CrlReason } from "../crypto/crl.js";
import { CryptoError } from "../crypto/errors.js";
import { type ExtensionsSpec, readExtensions } from "../crypto/extensions.js";
import { encryptedKeyPem, encryptPrivateKey, exportPkcs8, generateKeyPair, type KeyType } from "../crypto/keys.js";
import { x509 } from "../crypto/provider.js";
import { toPem } from "../crypto/pem.js";
import type { CertificateKind, CertificateRecord } from "../ledger/ledger.js";
import { type CaCore, checkDays, DAY_MS, type UnlockedRoot } from "./core.js";
import { PkiError } from "./errors.js";
import { PUBLIC_MODE, SECRET_MODE } from "./home.js";
import { usagesForKey } from "./key-usage.js";
import { notFound } from "./suggest.js";
import { claimName } from "./name-claims.js";
import { validateName } from "./names.js";
import { loadProfile, type Profile } from "./profiles.js";
import { issueCrl, type CrlResult } from "./revocation.js";
import { recordOf } from "./records.js";
import { type CertificateView, viewOf, when } from "./views.js";

/** Clients get a year by default, so a lost laptop's certificate dies on its own. */
export const DEFAULT_LEAF_DAYS = 365;
/** notBefore is set this far in the past so servers with a slightly slow clock accept new certificates. */
export const BACKDATE_MS = 5 * 60_000;

export type LeafKind = Exclude<CertificateKind, "root">;

export interface IssueParams {
  name: string;
  kind: LeafKind;
  /** Profile file. Default: templates/profiles/<kind>.ini. */
  profile?: string;
  /** Default DEFAULT_LEAF_DAYS. */
  days?: number;
  /** Added to subjectAltName as an rfc822Name and visible to profiles as $ENV::PKI_EMAIL. */
  email?: string;
  /** Extra subjectAltNames (server certificates: DNS names and IP addresses). Default: none. */
  altNames?: { type: "dns" | "ip"; value: string }[];
  /** Default "ec-p256". Ignored with `csr`. */
  keyType?: KeyType;
  /** A PKCS#10 request made elsewhere: only its public key is used, after its signature verifies. */
  csr?: Uint8Array;
  /**
   * Also write a PKCS#12 (one step instead of issue + export-p12). Not with `csr`. A password
   * function is called after the request is checked and the CA key opened, so a bad name
   * is refused before anyone types a secret.
   */
  pkcs12?: { password: string | (() => Promise<string>); legacy?: boolean; out?: string };
}

export interface IssueResult {
  view: CertificateView;
  certificatePath: string;
  /** null when the key came from a CSR and the CA never saw it. */
  keyPath: string | null;
  /** The PKCS#12 written with `pkcs12`, else null. */
  pkcs12Path?: string | null;
}

export interface RenewParams {
  name: string;
  days?: number;
  /** Re-apply this profile instead of copying the old certificate's subject and extensions. */
  profile?: string;
  keyType?: KeyType;
  /** Keep the old key instead of generating a new one. */
  reuseKey?: boolean;
  /** Also revoke the old certificate (reason superseded) and regenerate the CRL. */
  revokeOld?: boolean;
}

export interface RenewResult extends IssueResult {
  previous: CertificateView;
  crl: CrlResult | null;
}

/** Issues a client or server certificate under `name`, with a new key or from a CSR. */
export async function issue(core: CaCore, params: IssueParams): Promise<IssueResult> {
  const name = validateName(params.name);
  const now = core.now();
  claimName(core, name, now);
  const email = params.email === undefined ? undefined : checkEmail(params.email);
  const profile = loadProfile(params.profile ?? join(core.options.templatesDir, "profiles", `${params.kind}.ini`), { PKI_NAME: name, ...(email ? { PKI_EMAIL: email } : {}) });
  let extensions = withAltNames(profile.extensions, [...(email ? [{ type: "email" as const, value: email }] : []), ...(params.altNames ?? [])]);
  checkLeafProfile(profile, extensions);
  const notAfter = leafNotAfter(core, now, params.days);
  if (params.pkcs12 && params.csr) throw new PkiError("usage", "--p12 needs the key, and with --csr the key stays with the requester");
  const root = await core.unlockRoot();
  let pkcs12: SignParams["pkcs12"];
  if (params.pkcs12) {
    const password = typeof params.pkcs12.password === "string" ? params.pkcs12.password : await params.pkcs12.password();
    if (password.length === 0) throw new PkiError("secret", "the PKCS#12 password is empty", "macOS and Firefox cannot import a .p12 with an empty password", "EMPTY_SECRET");
    pkcs12 = { ...params.pkcs12, password };
  }

  let publicKey: x509.PublicKey;
  let keyPkcs8: Uint8Array | null = null;
  let csrDer: Uint8Array;
  if (params.csr) {
    const csr = await readVerifiedCsr(params.csr).catch((e: unknown) => {
      if (e instanceof CryptoError) throw new PkiError("invalid", `the CSR was refused: ${e.message}`);
      throw e;
    });
    checkCsrAgainstProfile(csr, extensions);
    extensions = usagesForKey(extensions, publicKeyType(csr.publicKey)!);
    publicKey = csr.publicKey;
    csrDer = new Uint8Array(csr.rawData);
  } else {
    const keyType = params.keyType ?? "ec-p256";
    extensions = usagesForKey(extensions, keyType);
    const keys = await generateKeyPair(keyType);
    const csr = await createCsr({ subject: profile.subject, keys, keyType, extensions });
    publicKey = csr.publicKey;
    csrDer = new Uint8Array(csr.rawData);
    keyPkcs8 = await exportPkcs8(keys.privateKey);
  }
  const { crl: _crl, ...result } = await signAndRecord(core, {
    name, kind: params.kind, subject: profile.subject, extensions, publicKey, keyPkcs8, csrDer, notAfter, root, now, action: "issued", supersede: undefined,
    ...(pkcs12 ? { pkcs12 } : {}),
  });
  return result;
}

/** A new certificate for the same subject; the old one is superseded (and revoked with `revokeOld`). */
export async function renew(core: CaCore, params: RenewParams): Promise<RenewResult> {
  const name = validateName(params.name);
  const now = core.now();
  const old = core.findByName(name);
  if (!old) throw notFound(core, name, "name");
  if (old.kind === "root") throw new PkiError("invalid", "the root CA cannot be renewed with renew", "to replace it, create a new CA in a new home", "ROOT_REFUSED");
  if (old.state === "superseded") throw new PkiError("conflict", `"${name}" (serial ${old.serial}) was already superseded by ${old.supersededBy}`);
  if (!old.keyEncrypted) {
    throw new PkiError("invalid", `"${name}" was issued from a CSR: pki does not hold its key`, "have the holder send a new CSR and use: pki issue-client NAME --csr FILE");
  }
  claimName(core, name, now, old.serial);
  const notAfter = leafNotAfter(core, now, params.days);
  const oldCert = new x509.X509Certificate(old.der);
  let subject: NameAttribute[] | x509.Name = oldCert.subjectName;
  let extensions: ExtensionsSpec = readExtensions(oldCert.extensions);
  if (params.profile) {
    const profile = loadProfile(params.profile, { PKI_NAME: name });
    checkLeafProfile(profile, profile.extensions);
    subject = profile.subject;
    extensions = profile.extensions;
  }
  const root = await core.unlockRoot();
  let keyPkcs8: Uint8Array;
  let publicKey: x509.PublicKey;
  // The old key's type is in its certificate: no need to decrypt the key to learn it.
  const oldKeyType = publicKeyType(oldCert.publicKey) ?? "ec-p256";
  if (params.reuseKey) {
    keyPkcs8 = await core.decryptKey(old.keyEncrypted, root.passphrase, old);
    publicKey = oldCert.publicKey;
    extensions = usagesForKey(extensions, oldKeyType);
  } else {
    const keyType = params.keyType ?? oldKeyType;
    extensions = usagesForKey(extensions, keyType);
    const keys = await generateKeyPair(keyType);
    keyPkcs8 = await exportPkcs8(keys.privateKey);
    publicKey = await x509.PublicKey.create(keys.publicKey);
  }
  const issued = await signAndRecord(core, {
    name, kind: old.kind, subject, extensions, publicKey, keyPkcs8, csrDer: null, notAfter, root, now, action: "renewed", supersede: old,
    revokeSuperseded: params.revokeOld ?? false,
  });
  return { ...issued, previous: viewOf(core.ledger.bySerial(old.serial)!, now) };
}

export function leafNotAfter(core: CaCore, now: Date, days: number | undefined): Date {
  const d = checkDays(days ?? DEFAULT_LEAF_DAYS, "--days");
  const notAfter = new Date(now.getTime() + d * DAY_MS);
  if (notAfter.toISOString() > core.root.notAfter) {
    const max = Math.floor((Date.parse(core.root.notAfter) - now.getTime()) / DAY_MS);
    // Refused rather than clamped: a certificate silently shorter than asked for surprises people.
    throw new PkiError("invalid", `a ${d}-day certificate would outlive the root CA, which expires ${when(core.root.notAfter)}`, `use --days ${max} or less`);
  }
  return notAfter;
}

interface SignParams {
  name: string;
  kind: LeafKind;
  subject: NameAttribute[] | x509.Name;
  extensions: ExtensionsSpec;
  publicKey: x509.PublicKey;
  keyPkcs8: Uint8Array | null;
  csrDer: Uint8Array | null;
  notAfter: Date;
  root: UnlockedRoot;
  now: Date;
  action: "issued" | "renewed";
  supersede: CertificateRecord | undefined;
  revokeSuperseded?: boolean;
  pkcs12?: { password: string; legacy?: boolean; out?: string };
}

async function signAndRecord(core: CaCore, p: SignParams): Promise<IssueResult & { crl: CrlResult | null }> {
  const keyEncrypted = p.keyPkcs8 && (await encryptPrivateKey(p.keyPkcs8, p.root.passphrase));
  core.home.create(); // restores certs/ and private/ if someone removed them
  const certificatePath = core.home.certificate(p.name);
  const keyPath = keyEncrypted ? core.home.key(p.name) : null;
  return core.change(async (files) => {
    if (keyEncrypted) core.assertPassphraseCurrent(p.root);
    if (p.supersede && core.ledger.bySerial(p.supersede.serial)?.state !== "active") {
      throw new PkiError("conflict", `"${p.name}" (serial ${p.supersede.serial}) was renewed or revoked by another pki process meanwhile`);
    }
    // Under the write lock: what decides. Expired holders of the name make way for the new certificate.
    const expiredHolders = claimName(core, p.name, p.now, p.supersede?.serial);
    const replaced = [...(p.supersede ? [p.supersede.serial] : []), ...expiredHolders.map((h) => h.serial)];
    const serial = core.freshSerial();
    const cert = await createLeafCertificate({
      serial,
      notBefore: new Date(p.now.getTime() - BACKDATE_MS),
      notAfter: p.notAfter,
      subject: p.subject,
      publicKey: p.publicKey,
      issuer: p.root.cert,
      issuerKey: p.root.key,
      issuerKeyType: p.root.keyType,
      extensions: p.extensions,
    });
    const record = recordOf(cert, p.kind, p.name, keyEncrypted, p.csrDer, p.now);
    const stillCurrent = () => core.ledger.activeByName(p.name, p.kind)?.serial === record.serial;
    files.stage(certificatePath, toPem(new Uint8Array(cert.rawData), "CERTIFICATE"), PUBLIC_MODE, stillCurrent);
    if (keyEncrypted && keyPath) files.stage(keyPath, encryptedKeyPem(keyEncrypted), SECRET_MODE, stillCurrent);
    // The old certificate leaves the "active" slot before the new one takes it (one active per name).
    if (p.supersede) {
      if (p.revokeSuperseded) {
        core.ledger.markRevoked(p.supersede.serial, p.now.toISOString(), CrlReason.superseded);
        core.ledger.appendEvent(core.event(p.now, "revoked", p.supersede.serial, { name: p.name, reason: "superseded" }));
      }
      core.ledger.markSuperseded(p.supersede.serial, record.serial);
    }
    for (const h of expiredHolders) core.ledger.markSuperseded(h.serial, record.serial);
    core.ledger.insertCertificate(record);
    core.ledger.appendEvent(
      core.event(p.now, p.action, record.serial, {
        name: p.name, kind: p.kind, subject: record.subject, notAfter: record.notAfter, sha256: record.sha256, fromCsr: p.keyPkcs8 === null,
        ...(replaced.length > 0 ? { replaces: replaced[0] } : {}),
        ...(replaced.length > 1 ? { alsoReplaces: replaced.slice(1) } : {}),
      }),
    );
    let pkcs12Path: string | null = null;
    if (p.pkcs12 && p.keyPkcs8) {
      const { createPkcs12 } = await import("../crypto/pkcs12.js");
      pkcs12Path = p.pkcs12.out ?? core.home.pkcs12(p.name);
      const der = await createPkcs12({ privateKey: p.keyPkcs8, certificate: record.der, caCertificates: [core.root.der], password: p.pkcs12.password, friendlyName: p.name, legacy: p.pkcs12.legacy ?? false });
      files.stage(pkcs12Path, der, SECRET_MODE, stillCurrent);
      core.ledger.appendEvent(core.event(p.now, "exported", record.serial, { name: p.name, format: p.pkcs12.legacy ? "pkcs12-legacy" : "pkcs12", file: pkcs12Path }));
    }
    const crl = p.revokeSuperseded && p.supersede ? await issueCrl(core, p.root, files, p.now) : null;
    return { view: viewOf(record, p.now), certificatePath, keyPath, pkcs12Path, crl };
  });
}

function checkEmail(email: string): string {
  // RFC 5280 rfc822Name is IA5 (ASCII); one @, no spaces.
  if (!/^[\x21-\x7e]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(email) || email.split("@").length !== 2) {
    throw new PkiError("usage", `--email "${email}" is not an address like alice@example.com`);
  }
  return email;
}

function withAltNames(ext: ExtensionsSpec, extra: { type: "email" | "dns" | "ip"; value: string }[]): ExtensionsSpec {
  if (extra.length === 0) return ext;
  const names = [...(ext.subjectAltName?.names ?? [])];
  for (const n of extra) if (!names.some((m) => m.type === n.type && m.value === n.value)) names.push(n);
  return { ...ext, subjectAltName: { critical: ext.subjectAltName?.critical ?? false, names } };
}

/** What a leaf profile must never do, whatever its file says. */
export function checkLeafProfile(profile: Profile, ext: ExtensionsSpec): void {
  if (!ext.basicConstraints || ext.basicConstraints.ca) {
    throw new PkiError("invalid", `${profile.file}: a leaf profile needs basicConstraints = critical, CA:false`);
  }
  if (ext.keyUsage?.usages.some((u) => u === "keyCertSign" || u === "cRLSign")) {
    throw new PkiError("invalid", `${profile.file}: a leaf profile must not grant keyCertSign or cRLSign`);
  }
}

/** A CSR may ask for less than the profile grants, never more (RFC 5280 leaves the policy to the CA). */
function checkCsrAgainstProfile(csr: x509.Pkcs10CertificateRequest, profile: ExtensionsSpec): void {
  if (!publicKeyType(csr.publicKey)) {
    const alg = csr.publicKey.algorithm as Algorithm & { namedCurve?: string; modulusLength?: number };
    const what = [alg.name, alg.namedCurve, alg.modulusLength && `${alg.modulusLength}-bit`].filter(Boolean).join(" ");
    throw new PkiError("invalid", `the CSR's key is ${what}; pki signs EC P-256/P-384 and RSA 2048-4096 keys only`);
  }
  const asked = readExtensions(csr.extensions);
  if (asked.basicConstraints?.ca) throw new PkiError("invalid", "the CSR asks for CA:TRUE; pki only signs CA:FALSE leaf certificates");
  const extraKu = (asked.keyUsage?.usages ?? []).filter((u) => !profile.keyUsage?.usages.includes(u));
  if (extraKu.length) throw new PkiError("invalid", `the CSR asks for key usages the profile does not allow: ${extraKu.join(", ")}`);
  const extraEku = (asked.extendedKeyUsage?.purposes ?? []).filter((p) => !profile.extendedKeyUsage?.purposes.includes(p));
  if (extraEku.length) throw new PkiError("invalid", `the CSR asks for extended key usages the profile does not allow: ${extraEku.join(", ")}`);
}
