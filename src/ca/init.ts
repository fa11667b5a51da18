import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createRootCertificate, type NameAttribute } from "../crypto/certificates.js";
import { createCrl, crlPem } from "../crypto/crl.js";
import { encryptPrivateKey, exportPkcs8, generateKeyPair, type KeyType } from "../crypto/keys.js";
import { randomSerial } from "../crypto/serial.js";
import { toPem } from "../crypto/pem.js";
import { openLedger, type Ledger } from "../ledger/ledger.js";
import { type AuthorityOptions, checkDays, DAY_MS } from "./core.js";
import { PkiError } from "./errors.js";
import { FileBatch, PUBLIC_MODE } from "./home.js";
import { BACKDATE_MS } from "./issuance.js";
import { loadProfile } from "./profiles.js";
import { recordOf } from "./records.js";
import { DEFAULT_CRL_DAYS, type CrlResult } from "./revocation.js";
import { type CertificateView, viewOf } from "./views.js";

export const DEFAULT_ROOT_DAYS = 3650;
export const MIN_PASSPHRASE_LENGTH = 8;

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

export interface InitRootResult {
  view: CertificateView;
  certificatePath: string;
  crl: CrlResult;
}

/** Creates a root CA and its first CRL in a home that has none; on failure the home is left as it was. */
export async function initRoot(options: AuthorityOptions, params: InitRootParams): Promise<InitRootResult> {
  const { home } = options;
  if (home.exists()) throw new PkiError("conflict", `a CA already exists in ${home.dir}`, "pki never overwrites a CA; choose another --home");
  const now = options.now?.() ?? new Date();
  const cn = params.commonName.normalize("NFC").trim();
  if (!cn || cn.length > 64 || /\p{Cc}/u.test(cn)) throw new PkiError("usage", "--cn must be 1 to 64 printable characters");
  if (params.country !== undefined && !/^[A-Z]{2}$/.test(params.country)) {
    throw new PkiError("usage", `--country "${params.country}" must be a two-letter ISO 3166 code such as NL`);
  }
  const org = params.organization?.normalize("NFC").trim();
  if (org !== undefined && (!org || org.length > 64 || /\p{Cc}/u.test(org))) throw new PkiError("usage", "--org must be 1 to 64 printable characters");
  const days = checkDays(params.days ?? DEFAULT_ROOT_DAYS, "--days");
  const keyType = params.keyType ?? "ec-p256";
  const profile = loadProfile(params.profile ?? join(options.templatesDir, "profiles", "root.ini"), { PKI_NAME: cn });
  if (!profile.extensions.basicConstraints?.ca) throw new PkiError("invalid", `${profile.file}: a root profile needs basicConstraints = critical, CA:true`);

  const passphrase = await options.passphrase();
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new PkiError("secret", `the CA passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`, undefined, "WEAK_PASSPHRASE");
  const subject: NameAttribute[] = [
    ...(params.country ? [{ type: "C", value: params.country }] : []),
    ...(org ? [{ type: "O", value: org }] : []),
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
  const crlNext = new Date(Math.min(now.getTime() + DEFAULT_CRL_DAYS * DAY_MS, cert.notAfter.getTime()));
  const crlDer = await createCrl({ issuer: cert, issuerKey: keys.privateKey, issuerKeyType: keyType, number: 1, thisUpdate: now, nextUpdate: crlNext, entries: [] });
  const crl: CrlResult = { path: home.crl, number: 1, thisUpdate: now.toISOString(), nextUpdate: crlNext.toISOString(), revoked: 0, hook: null };

  const homeExisted = existsSync(home.dir);
  home.create();
  const files = new FileBatch();
  let ledger: Ledger | undefined;
  try {
    files.stage(home.caCertificate, toPem(new Uint8Array(cert.rawData), "CERTIFICATE"), PUBLIC_MODE);
    files.stage(home.crl, crlPem(crlDer), PUBLIC_MODE);
    const l = (ledger = openLedger(home.ledger, { create: true }));
    const at = now.toISOString();
    l.transaction(() => {
      l.insertCertificate(record);
      l.appendEvent({ at, actor: options.actor, action: "ca-created", serial: record.serial, details: { name: cn, subject: record.subject, notAfter: record.notAfter, keyType, sha256: record.sha256 } });
      l.insertCrl({ number: 1, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, der: crlDer });
      l.appendEvent({ at, actor: options.actor, action: "crl-generated", serial: null, details: { number: 1, nextUpdate: crl.nextUpdate, revoked: 0 } });
    });
    l.close();
    ledger = undefined;
    files.commit();
  } catch (e) {
    files.abort();
    ledger?.close();
    // Leave the home as we found it: no half-made CA that would block the next attempt.
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(home.ledger + suffix, { force: true });
    if (!homeExisted) removeEmptyTree(home.dir);
    throw e;
  }
  return { view: viewOf(record, now), certificatePath: home.caCertificate, crl };
}

/** Removes `dir` and the empty folders under it; stops at anything else. */
function removeEmptyTree(dir: string): void {
  try {
    for (const entry of readdirSync(dir)) removeEmptyTree(join(dir, entry));
    rmdirSync(dir);
  } catch {
    /* not empty or not a directory: leave it */
  }
}
