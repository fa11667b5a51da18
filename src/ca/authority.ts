import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  createCsr,
  createLeafCertificate,
  createRootCertificate,
  keyMatchesCertificate,
  type NameAttribute,
  readVerifiedCsr,
} from "../crypto/certificates.js";
import { createCrl, CrlReason, crlPem } from "../crypto/crl.js";
import { CryptoError } from "../crypto/errors.js";
import { type ExtensionsSpec, readExtensions } from "../crypto/extensions.js";
import {
  decryptPrivateKey,
  encryptedKeyPem,
  encryptPrivateKey,
  exportPkcs8,
  generateKeyPair,
  importPkcs8,
  type KeyType,
} from "../crypto/keys.js";
import { toPem } from "../crypto/pem.js";
import { createPkcs12 } from "../crypto/pkcs12.js";
import { x509 } from "../crypto/provider.js";
import { randomSerial } from "../crypto/serial.js";
import type { CertificateKind, CertificateRecord, Ledger } from "../ledger/ledger.js";
import { openLedger } from "../ledger/ledger.js";
import { LedgerError } from "../ledger/errors.js";
import { PkiError } from "./errors.js";
import { FileBatch, Home, PUBLIC_MODE, SECRET_MODE } from "./home.js";
import { validateName } from "./names.js";
import { loadProfile, type Profile } from "./profiles.js";
import { type CertificateStatus, type CertificateView, statusOf, viewOf } from "./views.js";

const DAY_MS = 86_400_000;
/** Default lifetimes. Clients: a year, so a lost laptop's certificate dies on its own. */
export const DEFAULT_ROOT_DAYS = 3650;
export const DEFAULT_LEAF_DAYS = 365;
/**
 * Default CRL lifetime. nginx refuses every client once `ssl_crl` is past its nextUpdate,
 * so this must comfortably exceed how often the CRL is regenerated (a weekly timer leaves
 * three weeks of slack) while keeping a stolen-but-revoked certificate's window bounded.
 */
export const DEFAULT_CRL_DAYS = 30;
/** notBefore is set this far in the past so servers with a slightly slow clock accept new certificates. */
const BACKDATE_MS = 5 * 60_000;
export const MIN_PASSPHRASE_LENGTH = 8;

export interface AuthorityOptions {
  home: Home;
  /** Folder holding `profiles/<kind>.ini`, the profiles shipped with pki. */
  templatesDir: string;
  /** Who is acting, for the event log (an OS user name, never a secret). */
  actor: string;
  /** Supplies the CA passphrase, only when a private key must be used. */
  passphrase: () => Promise<string>;
  /** The clock; tests move it. Default: the system clock. */
  now?: () => Date;
}

export interface InitRootParams {
  commonName: string;
  organization?: string;
  country?: string;
  /** Default "ec-p256". */
  keyType?: KeyType;
  /** Default DEFAULT_ROOT_DAYS. */
  days?: number;
  /** Profile holding the root's extensions. Default: templates/profiles/root.ini. */
  profile?: string;
}

export interface IssueParams {
  name: string;
  kind: Exclude<CertificateKind, "root">;
  /** Profile file. Default: templates/profiles/<kind>.ini. */
  profile?: string;
  /** Default DEFAULT_LEAF_DAYS. */
  days?: number;
  /** Added to subjectAltName as an rfc822Name and visible to profiles as $ENV::PKI_EMAIL. */
  email?: string;
  /** Default "ec-p256". Ignored with `csr`. */
  keyType?: KeyType;
  /** A PKCS#10 request made elsewhere: only its public key is used, after its signature verifies. */
  csr?: Uint8Array;
}

export interface IssueResult {
  view: CertificateView;
  certificatePath: string;
  /** null when the key came from a CSR and the CA never saw it. */
  keyPath: string | null;
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

export interface CrlResult {
  path: string;
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  revoked: number;
}

export interface RevokeResult {
  view: CertificateView;
  crl: CrlResult;
}

export interface ListFilter {
  status?: CertificateStatus;
  /** Only valid certificates that expire within this many days. */
  expiringDays?: number;
}

interface UnlockedRoot {
  record: CertificateRecord;
  cert: x509.X509Certificate;
  key: CryptoKey;
  keyType: KeyType;
  passphrase: string;
}

/** The certificate authority of one home: every state change goes through here. */
export class Authority {
  private constructor(
    private readonly options: AuthorityOptions,
    private readonly ledger: Ledger,
    private readonly root: CertificateRecord,
  ) {}

  private get home(): Home {
    return this.options.home;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** Opens the CA in `options.home`; fails with "not-found" when there is none. */
  static open(options: AuthorityOptions): Authority {
    if (!options.home.exists()) {
      throw new PkiError("not-found", `no CA in ${options.home.dir}`, "create one with: pki init-root --cn NAME, or point --home / PKI_HOME at an existing one");
    }
    const ledger = openLedger(options.home.ledger);
    const root = ledger.activeRoot();
    if (!root) {
      ledger.close();
      throw new PkiError("not-found", `the ledger in ${options.home.dir} has no root CA`);
    }
    return new Authority(options, ledger, root);
  }

  close(): void {
    this.ledger.close();
  }

  /** Creates a root CA and its first CRL in a home that has none. */
  static async initRoot(options: AuthorityOptions, params: InitRootParams): Promise<{ view: CertificateView; certificatePath: string; crl: CrlResult }> {
    const { home } = options;
    if (home.exists()) {
      throw new PkiError("conflict", `a CA already exists in ${home.dir}`, "pki never overwrites a CA; choose another --home");
    }
    const now = options.now?.() ?? new Date();
    const cn = params.commonName.normalize("NFC").trim();
    if (!cn || cn.length > 64 || /\p{Cc}/u.test(cn)) throw new PkiError("usage", "--cn must be 1 to 64 printable characters");
    if (params.country !== undefined && !/^[A-Z]{2}$/.test(params.country)) {
      throw new PkiError("usage", `--country "${params.country}" must be a two-letter ISO 3166 code such as NL`);
    }
    if (params.organization !== undefined && (!params.organization.trim() || params.organization.length > 64 || /\p{Cc}/u.test(params.organization))) {
      throw new PkiError("usage", "--org must be 1 to 64 printable characters");
    }
    const days = checkDays(params.days ?? DEFAULT_ROOT_DAYS, "--days");
    const keyType = params.keyType ?? "ec-p256";
    const profile = loadProfile(params.profile ?? join(options.templatesDir, "profiles", "root.ini"), { PKI_NAME: cn });
    const bc = profile.extensions.basicConstraints;
    if (!bc?.ca) throw new PkiError("invalid", `${profile.file}: a root profile needs basicConstraints = critical, CA:true`);

    const passphrase = await options.passphrase();
    if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
      throw new PkiError("secret", `the CA passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
    }
    const subject: NameAttribute[] = [
      ...(params.country ? [{ type: "C", value: params.country }] : []),
      ...(params.organization ? [{ type: "O", value: params.organization.trim() }] : []),
      { type: "CN", value: cn },
    ];
    const keys = await generateKeyPair(keyType);
    const cert = await createRootCertificate({
      serial: randomSerial(),
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + days * DAY_MS),
      subject,
      keys,
      keyType,
      extensions: profile.extensions,
    });
    const keyEncrypted = await encryptPrivateKey(await exportPkcs8(keys.privateKey), passphrase);
    const record = recordOf(cert, "root", cn, keyEncrypted, null, now);
    const crlNextUpdate = new Date(Math.min(now.getTime() + DEFAULT_CRL_DAYS * DAY_MS, cert.notAfter.getTime()));
    const crlDer = await createCrl({ issuer: cert, issuerKey: keys.privateKey, issuerKeyType: keyType, number: 1, thisUpdate: now, nextUpdate: crlNextUpdate, entries: [] });

    const homeExisted = existsSync(home.dir);
    home.create();
    const files = new FileBatch();
    let ledger: Ledger | undefined;
    try {
      files.stage(home.caCertificate, cert.toString("pem") + "\n", PUBLIC_MODE);
      files.stage(home.crl, crlPem(crlDer), PUBLIC_MODE);
      ledger = openLedger(home.ledger, { create: true });
      const l = ledger;
      l.transaction(() => {
        l.insertCertificate(record);
        l.appendEvent({ at: now.toISOString(), actor: options.actor, action: "ca-created", serial: record.serial, details: { subject: record.subject, notAfter: record.notAfter, keyType } });
        l.insertCrl({ number: 1, thisUpdate: now.toISOString(), nextUpdate: crlNextUpdate.toISOString(), der: crlDer });
        l.appendEvent({ at: now.toISOString(), actor: options.actor, action: "crl-generated", serial: null, details: { number: 1, nextUpdate: crlNextUpdate.toISOString(), revoked: 0 } });
      });
      files.commit();
    } catch (e) {
      files.abort();
      ledger?.close();
      ledger = undefined;
      // Leave the home as we found it: no half-made CA that would block the next attempt.
      for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(home.ledger + suffix, { force: true });
      if (!homeExisted) removeEmptyTree(home.dir);
      throw e;
    } finally {
      ledger?.close();
    }
    return {
      view: viewOf(record as CertificateRecord, now),
      certificatePath: home.caCertificate,
      crl: { path: home.crl, number: 1, thisUpdate: now.toISOString(), nextUpdate: crlNextUpdate.toISOString(), revoked: 0 },
    };
  }

  /** Decrypts the root key with the passphrase; a wrong passphrase is a "secret" error. */
  private async unlockRoot(): Promise<UnlockedRoot> {
    const passphrase = await this.options.passphrase();
    let pkcs8: Uint8Array;
    try {
      pkcs8 = await decryptPrivateKey(this.root.keyEncrypted!, passphrase);
    } catch (e) {
      if (e instanceof CryptoError && e.code === "bad-passphrase") {
        throw new PkiError("secret", "wrong passphrase for the CA key", "check PKI_PASSPHRASE or --passphrase-file");
      }
      throw e;
    }
    const { key, type } = await importPkcs8(pkcs8);
    return { record: this.root, cert: new x509.X509Certificate(this.root.der), key, keyType: type, passphrase };
  }

  /** Issues a client or server certificate under `name`, with a new key or from a CSR. */
  async issue(params: IssueParams): Promise<IssueResult> {
    const name = validateName(params.name);
    const now = this.now();
    const existing = this.ledger.activeByName(name, params.kind);
    if (existing && statusOf(existing, now) === "valid") {
      throw new PkiError("conflict", `"${name}" already has a valid certificate (serial ${existing.serial}, until ${existing.notAfter})`, `to replace it run: pki renew ${name}`);
    }
    const email = params.email === undefined ? undefined : checkEmail(params.email);
    const profile = loadProfile(params.profile ?? join(this.options.templatesDir, "profiles", `${params.kind}.ini`), { PKI_NAME: name, ...(email ? { PKI_EMAIL: email } : {}) });
    const extensions = withEmail(profile.extensions, email);
    checkLeafProfile(profile, extensions);
    const notAfter = this.leafNotAfter(now, params.days);
    const root = await this.unlockRoot();

    let publicKey: x509.PublicKey;
    let keyPkcs8: Uint8Array | null = null;
    let csrDer: Uint8Array;
    if (params.csr) {
      const csr = await readVerifiedCsr(params.csr).catch((e) => {
        if (e instanceof CryptoError) throw new PkiError("invalid", `the CSR was refused: ${e.message}`);
        throw e;
      });
      checkCsrAgainstProfile(csr, extensions);
      publicKey = csr.publicKey;
      csrDer = new Uint8Array(csr.rawData);
    } else {
      const keyType = params.keyType ?? "ec-p256";
      const keys = await generateKeyPair(keyType);
      const csr = await createCsr({ subject: profile.subject, keys, keyType, extensions });
      publicKey = csr.publicKey;
      csrDer = new Uint8Array(csr.rawData);
      keyPkcs8 = await exportPkcs8(keys.privateKey);
    }
    return this.signAndRecord({ name, kind: params.kind, subject: profile.subject, extensions, publicKey, keyPkcs8, csrDer, notAfter, root, now, action: "issued", supersede: existing });
  }

  /** A new certificate for the same subject; the old one is superseded (and revoked with `revokeOld`). */
  async renew(params: RenewParams): Promise<RenewResult> {
    const name = validateName(params.name);
    const now = this.now();
    const old = this.findByName(name);
    if (!old) throw new PkiError("not-found", `no certificate named "${name}"`, "pki list shows the names");
    if (old.kind === "root") throw new PkiError("usage", "the root CA cannot be renewed with renew");
    if (old.state === "superseded") {
      throw new PkiError("conflict", `"${name}" (serial ${old.serial}) was already superseded by ${old.supersededBy}`);
    }
    const notAfter = this.leafNotAfter(now, params.days);
    let subject: NameAttribute[] | x509.Name;
    let extensions: ExtensionsSpec;
    const oldCert = new x509.X509Certificate(old.der);
    if (params.profile) {
      const profile = loadProfile(params.profile, { PKI_NAME: name });
      checkLeafProfile(profile, profile.extensions);
      subject = profile.subject;
      extensions = profile.extensions;
    } else {
      subject = oldCert.subjectName;
      extensions = readExtensions(oldCert.extensions);
    }
    const root = await this.unlockRoot();
    let keyPkcs8: Uint8Array | null = null;
    let publicKey: x509.PublicKey;
    if (params.reuseKey) {
      if (!old.keyEncrypted) throw new PkiError("invalid", `"${name}" was issued from a CSR: pki does not hold its key`, "have the holder send a new CSR and use: pki issue-client NAME --csr FILE");
      keyPkcs8 = await decryptPrivateKey(old.keyEncrypted, root.passphrase);
      publicKey = oldCert.publicKey;
    } else if (!old.keyEncrypted) {
      throw new PkiError("invalid", `"${name}" was issued from a CSR: pki cannot make its new key`, "have the holder send a new CSR and use: pki issue-client NAME --csr FILE");
    } else {
      const keyType = params.keyType ?? (await importPkcs8(await decryptPrivateKey(old.keyEncrypted, root.passphrase))).type;
      const keys = await generateKeyPair(keyType);
      keyPkcs8 = await exportPkcs8(keys.privateKey);
      publicKey = await x509.PublicKey.create(keys.publicKey);
    }
    const issued = await this.signAndRecord({
      name, kind: old.kind, subject, extensions, publicKey, keyPkcs8, csrDer: null, notAfter, root, now, action: "renewed", supersede: old,
      revokeSuperseded: params.revokeOld ?? false,
    });
    const previous = this.ledger.bySerial(old.serial)!;
    return { ...issued, previous: viewOf(previous, now), crl: issued.crl };
  }

  private leafNotAfter(now: Date, days: number | undefined): Date {
    const d = checkDays(days ?? DEFAULT_LEAF_DAYS, "--days");
    const notAfter = new Date(now.getTime() + d * DAY_MS);
    if (notAfter.toISOString() > this.root.notAfter) {
      const max = Math.floor((Date.parse(this.root.notAfter) - now.getTime()) / DAY_MS);
      // Refused rather than clamped: a certificate silently shorter than asked for surprises people.
      throw new PkiError("invalid", `a ${d}-day certificate would outlive the root CA, which expires ${this.root.notAfter}`, `use --days ${max} or less`);
    }
    return notAfter;
  }

  private async signAndRecord(p: {
    name: string;
    kind: Exclude<CertificateKind, "root">;
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
  }): Promise<IssueResult & { crl: CrlResult | null }> {
    let serial = randomSerial();
    while (this.ledger.serialExists(serial)) serial = randomSerial();
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
    const keyEncrypted = p.keyPkcs8 && (await encryptPrivateKey(p.keyPkcs8, p.root.passphrase));
    const record = recordOf(cert, p.kind, p.name, keyEncrypted, p.csrDer, p.now);
    this.home.create(); // restores certs/ and private/ if someone removed them
    const files = new FileBatch();
    const certificatePath = this.home.certificate(p.name);
    const keyPath = keyEncrypted ? this.home.key(p.name) : null;
    files.stage(certificatePath, cert.toString("pem") + "\n", PUBLIC_MODE);
    if (keyEncrypted && keyPath) files.stage(keyPath, encryptedKeyPem(keyEncrypted), SECRET_MODE);
    let crl: CrlResult | null = null;
    try {
      const prepared = p.revokeSuperseded && p.supersede ? await this.prepareCrl(p.root, p.now, undefined, [{ serial: p.supersede.serial, revokedAt: p.now, reason: CrlReason.superseded }]) : null;
      if (prepared) files.stage(this.home.crl, prepared.pem, PUBLIC_MODE);
      const at = p.now.toISOString();
      this.ledger.transaction(() => {
        const current = this.ledger.activeByName(p.name, p.kind);
        if (current && current.serial !== p.supersede?.serial) {
          throw new PkiError("conflict", `"${p.name}" was issued by another pki process meanwhile (serial ${current.serial})`);
        }
        // The old certificate leaves the "active" slot before the new one takes it (one active per name).
        if (p.supersede) {
          if (p.revokeSuperseded) {
            this.ledger.markRevoked(p.supersede.serial, at, CrlReason.superseded);
            this.ledger.appendEvent({ at, actor: this.options.actor, action: "revoked", serial: p.supersede.serial, details: { name: p.name, reason: "superseded" } });
          }
          this.ledger.markSuperseded(p.supersede.serial, record.serial);
        }
        this.ledger.insertCertificate(record);
        this.ledger.appendEvent({
          at, actor: this.options.actor, action: p.action, serial: record.serial,
          details: { name: p.name, kind: p.kind, subject: record.subject, notAfter: record.notAfter, fromCsr: p.keyPkcs8 === null, ...(p.supersede ? { replaces: p.supersede.serial } : {}) },
        });
        if (prepared) crl = this.recordCrl(prepared);
      });
    } catch (e) {
      files.abort();
      throw e;
    }
    files.commit();
    return { view: viewOf(record as CertificateRecord, p.now), certificatePath, keyPath, crl };
  }

  /** Revokes by name (its current certificate) or serial, records why, and regenerates the CRL. */
  async revoke(target: string, reason: CrlReason = CrlReason.unspecified): Promise<RevokeResult> {
    const now = this.now();
    const rec = this.find(target);
    if (rec.kind === "root") throw new PkiError("usage", "the root CA cannot revoke itself", "to retire it, create a new CA in a new home");
    if (rec.state === "revoked") throw new PkiError("conflict", `serial ${rec.serial} ("${rec.name}") is already revoked (${rec.revokedAt})`);
    if (reason === CrlReason.removeFromCRL) throw new PkiError("usage", "removeFromCRL is only meaningful in delta CRLs");
    const root = await this.unlockRoot();
    const at = now.toISOString();
    const prepared = await this.prepareCrl(root, now, undefined, [{ serial: rec.serial, revokedAt: now, reason }]);
    const files = new FileBatch();
    files.stage(this.home.crl, prepared.pem, PUBLIC_MODE);
    let crl!: CrlResult;
    try {
      this.ledger.transaction(() => {
        const fresh = this.ledger.bySerial(rec.serial)!;
        if (fresh.state === "revoked") throw new PkiError("conflict", `serial ${rec.serial} was revoked by another pki process meanwhile`);
        this.ledger.markRevoked(rec.serial, at, reason);
        this.ledger.appendEvent({ at, actor: this.options.actor, action: "revoked", serial: rec.serial, details: { name: rec.name, reason: CrlReason[reason] } });
        crl = this.recordCrl(prepared);
      });
    } catch (e) {
      files.abort();
      throw e;
    }
    files.commit();
    return { view: viewOf(this.ledger.bySerial(rec.serial)!, now), crl };
  }

  /** Signs a fresh CRL from the ledger's revocations and writes crl.pem (and `out`, if given). */
  async generateCrl(params: { days?: number; out?: string } = {}): Promise<CrlResult> {
    const now = this.now();
    const root = await this.unlockRoot();
    const prepared = await this.prepareCrl(root, now, params.days, []);
    const files = new FileBatch();
    files.stage(this.home.crl, prepared.pem, PUBLIC_MODE);
    if (params.out) files.stage(params.out, prepared.pem, PUBLIC_MODE);
    let crl!: CrlResult;
    try {
      this.ledger.transaction(() => {
        crl = this.recordCrl(prepared);
      });
    } catch (e) {
      files.abort();
      throw e;
    }
    files.commit();
    return crl;
  }

  /**
   * Signs a CRL over the recorded revocations plus `extra` ones about to be recorded.
   * The CRL number is re-checked inside the transaction (recordCrl): if another process
   * took it meanwhile, the unique key makes this transaction fail rather than reuse it.
   */
  private async prepareCrl(root: UnlockedRoot, now: Date, days: number | undefined, extra: { serial: string; revokedAt: Date; reason: CrlReason }[]) {
    const d = checkDays(days ?? DEFAULT_CRL_DAYS, "--days");
    const nextUpdate = new Date(Math.min(now.getTime() + d * DAY_MS, Date.parse(this.root.notAfter)));
    const number = this.ledger.nextCrlNumber();
    const entries = [
      ...this.ledger.revokedEntries().map((r) => ({ serial: r.serial, revokedAt: new Date(r.revokedAt), reason: r.reason as CrlReason })),
      ...extra,
    ];
    const der = await createCrl({ issuer: root.cert, issuerKey: root.key, issuerKeyType: root.keyType, number, thisUpdate: now, nextUpdate, entries });
    return { number, der, pem: crlPem(der), thisUpdate: now.toISOString(), nextUpdate: nextUpdate.toISOString(), revoked: entries.length };
  }

  /** Inside a transaction: stores a prepared CRL and its event. */
  private recordCrl(p: { number: number; der: Uint8Array; thisUpdate: string; nextUpdate: string; revoked: number }): CrlResult {
    if (this.ledger.nextCrlNumber() !== p.number) {
      throw new LedgerError("busy", "another pki process generated a CRL meanwhile; run the command again");
    }
    this.ledger.insertCrl({ number: p.number, thisUpdate: p.thisUpdate, nextUpdate: p.nextUpdate, der: p.der });
    this.ledger.appendEvent({ at: p.thisUpdate, actor: this.options.actor, action: "crl-generated", serial: null, details: { number: p.number, nextUpdate: p.nextUpdate, revoked: p.revoked } });
    return { path: this.home.crl, number: p.number, thisUpdate: p.thisUpdate, nextUpdate: p.nextUpdate, revoked: p.revoked };
  }

  /** Writes a PKCS#12 with the key, the certificate and the root, protected by `password`. */
  async exportPkcs12(params: { target: string; password: string; legacy?: boolean; out?: string }): Promise<{ view: CertificateView; file: string }> {
    const now = this.now();
    const rec = this.find(params.target);
    if (rec.kind === "root") throw new PkiError("usage", "pki does not export the root CA key", "clients only need ca.pem");
    if (!rec.keyEncrypted) throw new PkiError("invalid", `"${rec.name}" was issued from a CSR: pki does not hold its key`, "the holder builds the .p12 with their own key");
    if (params.password.length === 0) throw new PkiError("secret", "the PKCS#12 password is empty", "macOS and Firefox cannot import a .p12 with an empty password");
    const status = statusOf(rec, now);
    if (status === "revoked") throw new PkiError("conflict", `"${rec.name}" (serial ${rec.serial}) is revoked`, `issue a new one with: pki renew ${rec.name}`);
    const root = await this.unlockRoot();
    const keyPkcs8 = await decryptPrivateKey(rec.keyEncrypted, root.passphrase);
    const der = await createPkcs12({
      privateKey: keyPkcs8,
      certificate: rec.der,
      caCertificates: [this.root.der],
      password: params.password,
      friendlyName: rec.name,
      legacy: params.legacy ?? false,
    });
    const file = params.out ?? this.home.pkcs12(rec.name);
    const files = new FileBatch();
    files.stage(file, der, SECRET_MODE);
    try {
      this.ledger.transaction(() => {
        this.ledger.appendEvent({ at: now.toISOString(), actor: this.options.actor, action: "exported", serial: rec.serial, details: { name: rec.name, format: params.legacy ? "pkcs12-legacy" : "pkcs12", file } });
      });
    } catch (e) {
      files.abort();
      throw e;
    }
    files.commit();
    return { view: viewOf(rec, now), file };
  }

  list(filter: ListFilter = {}): CertificateView[] {
    const now = this.now();
    const nowIso = now.toISOString();
    if (filter.expiringDays !== undefined) {
      const until = new Date(now.getTime() + filter.expiringDays * DAY_MS).toISOString();
      return this.ledger.query({ state: "active", notAfterFrom: nowIso, notAfterBefore: until }).map((r) => viewOf(r, now));
    }
    const s = filter.status;
    const q =
      s === "valid" ? { state: "active" as const, notAfterFrom: nowIso }
      : s === "expired" ? { state: "active" as const, notAfterBefore: nowIso }
      : s === "revoked" || s === "superseded" ? { state: s }
      : {};
    return this.ledger.query(q).map((r) => viewOf(r, now));
  }

  /** One certificate by name or serial, with its PEM. */
  show(target: string): { view: CertificateView; pem: string; certificate: x509.X509Certificate } {
    const rec = this.find(target);
    return { view: viewOf(rec, this.now()), pem: toPem(rec.der, "CERTIFICATE"), certificate: new x509.X509Certificate(rec.der) };
  }

  /** Checks that a stored key still opens and matches its certificate (used by tests and `check`). */
  async verifyStoredKey(target: string): Promise<boolean> {
    const rec = this.find(target);
    if (!rec.keyEncrypted) return false;
    const root = await this.unlockRoot();
    const { key, type } = await importPkcs8(await decryptPrivateKey(rec.keyEncrypted, root.passphrase));
    return keyMatchesCertificate(key, type, new x509.X509Certificate(rec.der));
  }

  /** Serial first (exact), then name: the current certificate, else the newest one. */
  private find(target: string): CertificateRecord {
    const bySerial = normalizeSerialTarget(target);
    const rec = (bySerial && this.ledger.bySerial(bySerial)) || this.findByName(target.normalize("NFC"));
    if (!rec) throw new PkiError("not-found", `no certificate with name or serial "${target}"`, "pki list shows names and serials");
    return rec;
  }

  private findByName(name: string): CertificateRecord | undefined {
    return this.ledger.activeByName(name, "client") ?? this.ledger.activeByName(name, "server") ?? this.ledger.latestByName(name);
  }
}

function normalizeSerialTarget(target: string): string | null {
  const s = target.trim().toLowerCase().replace(/:/g, "");
  return /^(0x)?[0-9a-f]{2,40}$/.test(s) ? s.replace(/^0x/, "").replace(/^(00)+(?=[0-9a-f]{2})/, "") : null;
}

function recordOf(cert: x509.X509Certificate, kind: CertificateKind, name: string, keyEncrypted: Uint8Array | null, csr: Uint8Array | null, now: Date) {
  return {
    serial: cert.serialNumber.toLowerCase(),
    name,
    kind,
    subject: cert.subject,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    der: new Uint8Array(cert.rawData),
    keyEncrypted,
    csr,
    createdAt: now.toISOString(),
    state: "active" as const,
    revokedAt: null,
    revocationReason: null,
    supersededBy: null,
  };
}

function checkDays(days: number, flag: string): number {
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new PkiError("usage", `${flag} must be a whole number of days from 1 to 36500, not ${days}`);
  return days;
}

function checkEmail(email: string): string {
  // RFC 5280 rfc822Name is IA5 (ASCII); one @, no spaces.
  if (!/^[\x21-\x7e]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(email) || email.split("@").length !== 2) {
    throw new PkiError("usage", `--email "${email}" is not an address like alice@example.com`);
  }
  return email;
}

function withEmail(ext: ExtensionsSpec, email: string | undefined): ExtensionsSpec {
  if (!email) return ext;
  const names = ext.subjectAltName?.names ?? [];
  if (names.some((n) => n.type === "email" && n.value === email)) return ext;
  return { ...ext, subjectAltName: { critical: ext.subjectAltName?.critical ?? false, names: [...names, { type: "email", value: email }] } };
}

/** What a leaf profile must never do, whatever its file says. */
function checkLeafProfile(profile: Profile, ext: ExtensionsSpec): void {
  if (!ext.basicConstraints || ext.basicConstraints.ca) {
    throw new PkiError("invalid", `${profile.file}: a leaf profile needs basicConstraints = critical, CA:false`);
  }
  if (ext.keyUsage?.usages.some((u) => u === "keyCertSign" || u === "cRLSign")) {
    throw new PkiError("invalid", `${profile.file}: a leaf profile must not grant keyCertSign or cRLSign`);
  }
}

/** A CSR may ask for less than the profile grants, never more (RFC 5280 leaves the policy to the CA). */
function checkCsrAgainstProfile(csr: x509.Pkcs10CertificateRequest, profile: ExtensionsSpec): void {
  const asked = readExtensions(csr.extensions);
  if (asked.basicConstraints?.ca) throw new PkiError("invalid", "the CSR asks for CA:TRUE; pki only signs CA:FALSE leaf certificates");
  const extraKu = (asked.keyUsage?.usages ?? []).filter((u) => !profile.keyUsage?.usages.includes(u));
  if (extraKu.length) throw new PkiError("invalid", `the CSR asks for key usages the profile does not allow: ${extraKu.join(", ")}`);
  const extraEku = (asked.extendedKeyUsage?.purposes ?? []).filter((p) => !profile.extendedKeyUsage?.purposes.includes(p));
  if (extraEku.length) throw new PkiError("invalid", `the CSR asks for extended key usages the profile does not allow: ${extraEku.join(", ")}`);
}

/** Removes `dir` and the empty folders we made under it; stops at anything else. */
function removeEmptyTree(dir: string): void {
  try {
    for (const entry of readdirSync(dir)) removeEmptyTree(join(dir, entry));
    rmdirSync(dir);
  } catch {
    /* not empty or not a directory: leave it */
  }
}
