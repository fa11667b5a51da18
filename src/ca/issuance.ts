import { type NameAttribute, publicKeyType, readVerifiedCsr } from "../crypto/certificates.js";
import { CrlReason } from "../crypto/crl-reason.js";
import { CryptoError } from "../crypto/errors.js";
import { type ExtensionsSpec, readExtensions } from "../crypto/extensions.js";
import type { KeyType } from "../crypto/keys.js";
import { x509 } from "../crypto/provider.js";
import type { CertificateRecord, LedgerReader } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import { type CaCore, checkDays, DAY_MS } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { type CsrGrant, csrExtensions } from "./csr-policy.js";
import { usagesForKey } from "./key-usage.js";
import { claimName } from "./name-claims.js";
import { validateName } from "./names.js";
import { loadProfile, type Profile, profilePath } from "./profiles.js";
import type { CrlResult } from "./revocation.js";
import { type LeafKind, type LeafRequest, newKey, signLeaves } from "./sign-leaves.js";
import { exportPasswordProblem } from "./secret-strength.js";
import { shellQuote } from "./shell-quote.js";
import { notFound } from "./suggest.js";
import { type CertificateView, viewOf, when } from "./views.js";

export { BACKDATE_MS, type LeafKind } from "./sign-leaves.js";

/** Clients get a year by default, so a lost laptop's certificate dies on its own. */
export const DEFAULT_LEAF_DAYS = 365;
export interface IssueParams {
  name: string;
  kind: LeafKind;
  /** Profile file. Default: templates/profiles/<kind>.ini. */
  profile?: string;
  /** Default DEFAULT_LEAF_DAYS. */
  days?: number;
  /** What profiles see as $ENV::PKI_NAME when it is not `name` (an IPv6 server's address). */
  profileName?: string;
  /** Added to subjectAltName as an rfc822Name and visible to profiles as $ENV::PKI_EMAIL. */
  email?: string;
  /** Extra subjectAltNames (server certificates: DNS names and IP addresses). Default: none. */
  altNames?: { type: "dns" | "ip"; value: string }[];
  /** Default "ec-p256". With `csr`, when given, the type the CSR's key must have. */
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
  /** The signed certificate, as recorded: callers answer with it without reading the ledger again. */
  der: Uint8Array;
  certificatePath: string;
  /** null when the key came from a CSR and the CA never saw it. */
  keyPath: string | null;
  /** The PKCS#12 written with `pkcs12`, else null. */
  pkcs12Path?: string | null;
  /** With a CSR: what it was granted beyond the profile's defaults. */
  csrGrant?: CsrGrant;
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
export async function issue(core: CaCore, ctx: Context, params: IssueParams): Promise<IssueResult> {
  const name = validateName(params.name);
  const now = ctx.now;
  await core.ledger.read((r) => claimName(r, name, now));
  const email = params.email === undefined ? undefined : checkEmail(params.email);
  const profile = loadProfile(profilePath(core.options.templatesDir, params.profile ?? params.kind), { PKI_NAME: params.profileName ?? name, ...(email ? { PKI_EMAIL: email } : {}) });
  let extensions = withAltNames(profile.extensions, [...(email ? [{ type: "email" as const, value: email }] : []), ...(params.altNames ?? [])]);
  checkLeafProfile(profile, extensions);
  const notAfter = leafNotAfter(core, now, params.days);
  if (params.pkcs12 && params.csr) throw new PkiError("usage", "--p12 needs the key, and with --csr the key stays with the requester");
  const signer = await core.rootSigner();
  let pkcs12: LeafRequest["pkcs12"];
  if (params.pkcs12) {
    const password = typeof params.pkcs12.password === "string" ? params.pkcs12.password : await params.pkcs12.password();
    if (password.length === 0) throw new PkiError("secret", "the PKCS#12 password is empty", "macOS and Firefox cannot import a .p12 with an empty password", "EMPTY_SECRET");
    const weakPassword = exportPasswordProblem(password);
    if (weakPassword) throw new PkiError("secret", `the PKCS#12 password ${weakPassword}`, undefined, "WEAK_PASSWORD");
    pkcs12 = { ...params.pkcs12, password };
  }

  let request: LeafRequest;
  let csrGrant: CsrGrant | undefined;
  const common = { name, kind: params.kind, subject: profile.subject, extensions, notAfter, action: "issued" as const, ...(pkcs12 ? { pkcs12 } : {}) };
  if (params.csr) {
    const csr = await readVerifiedCsr(params.csr).catch((e: unknown) => {
      if (e instanceof CryptoError) throw new PkiError("invalid", `the CSR was refused: ${e.message}`, undefined, e.code === "unsupported" ? "UNSUPPORTED_ALGORITHM" : undefined);
      throw e;
    });
    checkCsrAgainstProfile(csr, extensions);
    const csrKeyType = publicKeyType(csr.publicKey)!;
    if (params.keyType !== undefined && params.keyType !== csrKeyType) {
      throw new PkiError("usage", `--key ${params.keyType} does not match the CSR's key, which is ${csrKeyType}: with --csr the requester made the key`, "leave out --key, or make the request with that key type", "KEY_MISMATCH");
    }
    const fromCsr = csrExtensions(csr, profile, extensions);
    csrGrant = fromCsr.grant;
    request = { ...common, extensions: usagesForKey(fromCsr.extensions, csrKeyType), publicKey: csr.publicKey, keyPkcs8: null, keyEncrypted: null, csrDer: new Uint8Array(csr.rawData) };
  } else {
    const keyType = params.keyType ?? "ec-p256";
    const key = await newKey(keyType);
    request = { ...common, extensions: usagesForKey(extensions, keyType), publicKey: key.publicKey, keyPkcs8: key.pkcs8, keyEncrypted: await core.sealKey(key.pkcs8), csrDer: null };
  }
  const { leaves: [leaf] } = await signLeaves(core, ctx, signer, [request]);
  return { view: viewOf(leaf!.record, now), der: leaf!.record.der, certificatePath: leaf!.certificatePath, keyPath: leaf!.keyPath, pkcs12Path: leaf!.pkcs12Path, ...(csrGrant ? { csrGrant } : {}) };
}

/** A new certificate for the same subject; the old one is superseded (and revoked with `revokeOld`). */
export async function renew(core: CaCore, ctx: Context, params: RenewParams): Promise<RenewResult> {
  const name = validateName(params.name);
  const now = ctx.now;
  const old = await core.ledger.read(async (r) => (await core.findByName(r, name)) ?? Promise.reject(await notFound(r, name, "name")));
  if (old.kind === "root") throw new PkiError("invalid", "the root CA cannot be renewed with renew", "to replace it, create a new CA in a new home", "ROOT_REFUSED");
  if (old.state === "superseded") throw new PkiError("conflict", `"${name}" (serial ${old.serial}) was already superseded by ${old.supersededBy}`);
  if (!old.keyEncrypted) {
    throw new PkiError("invalid", `"${name}" was issued from a CSR: pki does not hold its key`, "have the holder send a new CSR and use: pki issue-client NAME --csr FILE");
  }
  await core.ledger.read((r) => claimName(r, name, now, old.serial));
  const notAfter = leafNotAfter(core, now, params.days);
  const oldCert = new x509.X509Certificate(old.der);
  let subject: NameAttribute[] | x509.Name = oldCert.subjectName;
  let extensions: ExtensionsSpec = readExtensions(oldCert.extensions);
  if (params.profile) {
    const profile = loadProfile(profilePath(core.options.templatesDir, params.profile), { PKI_NAME: name });
    checkLeafProfile(profile, profile.extensions);
    subject = profile.subject;
    extensions = profile.extensions;
  }
  const signer = await core.rootSigner();
  let keyPkcs8: Uint8Array;
  let publicKey: x509.PublicKey;
  // The old key's type is in its certificate: no need to decrypt the key to learn it.
  const oldKeyType = publicKeyType(oldCert.publicKey) ?? "ec-p256";
  if (params.reuseKey) {
    const compromised = await core.ledger.read((r) => revokedForKeyCompromise(r, oldCert.publicKey));
    if (compromised) {
      throw new PkiError("invalid", `"${name}"'s key is the key of certificate ${compromised.serial} ("${compromised.name}"), revoked for keyCompromise: it must never be certified again`, `renew without --reuse-key: pki renew ${shellQuote(name)}`, "KEY_COMPROMISED");
    }
    keyPkcs8 = await core.unsealKey(old.keyEncrypted, old);
    publicKey = oldCert.publicKey;
    extensions = usagesForKey(extensions, oldKeyType);
  } else {
    const keyType = params.keyType ?? oldKeyType;
    extensions = usagesForKey(extensions, keyType);
    const key = await newKey(keyType);
    keyPkcs8 = key.pkcs8;
    publicKey = key.publicKey;
  }
  const request: LeafRequest = {
    name, kind: old.kind, subject, extensions, publicKey, keyPkcs8, keyEncrypted: await core.sealKey(keyPkcs8), csrDer: null, notAfter, action: "renewed",
    renews: old, revokeRenewed: params.revokeOld ?? false,
  };
  const { leaves: [leaf], crl } = await signLeaves(core, ctx, signer, [request]);
  const previous = await core.ledger.read((r) => r.bySerial(old.serial));
  return { view: viewOf(leaf!.record, now), der: leaf!.record.der, certificatePath: leaf!.certificatePath, keyPath: leaf!.keyPath, pkcs12Path: null, previous: viewOf(previous!, now), crl };
}

/** A certificate with this public key that was revoked for keyCompromise, under any name. */
export async function revokedForKeyCompromise(r: LedgerReader, publicKey: x509.PublicKey): Promise<CertificateRecord | undefined> {
  const spki = Buffer.from(publicKey.rawData);
  for (const entry of await r.revokedEntries()) {
    if (entry.reason !== CrlReason.keyCompromise) continue;
    const rec = await r.bySerial(entry.serial);
    if (rec && spki.equals(Buffer.from(new x509.X509Certificate(rec.der).publicKey.rawData))) return rec;
  }
  return undefined;
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

function checkEmail(email: string): string {
  // RFC 5280 rfc822Name is IA5 (ASCII); the local part as RFC 5322's dot-atom, without the
  // characters a profile would read as syntax (",", ":", quotes, "$", "#", "\\").
  if (!/^[A-Za-z0-9!%&*+/=?^_`{|}~-]+(\.[A-Za-z0-9!%&*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/.test(email)) {
    throw new PkiError("usage", `--email "${shown(email)}" is not an address like alice@example.com (letters, digits and . _ + - before the @)`);
  }
  return email;
}

export function withAltNames(ext: ExtensionsSpec, extra: { type: "email" | "dns" | "ip"; value: string }[]): ExtensionsSpec {
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
export function checkCsrAgainstProfile(csr: x509.Pkcs10CertificateRequest, profile: ExtensionsSpec): void {
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
