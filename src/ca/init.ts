import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createRootCertificate, type NameAttribute } from "../crypto/certificates.js";
import { type HistoryKey, historyKeyFromPkcs8 } from "../crypto/history-key.js";
import { Keyring } from "../crypto/keyring.js";
import { exportPkcs8, generateKeyPair, type KeyType } from "../crypto/keys.js";
import type { TokenKey } from "../crypto/pkcs11/token.js";
import { keySigner, type Signer } from "../crypto/signer.js";
import { randomSerial } from "../crypto/serial.js";
import { toPem } from "../crypto/pem.js";
import type { Ledger } from "../ledger/ledger.js";
import { openLedger } from "../ledger/open.js";
import { describeDatabase, isDatabaseUrl, withoutPassword } from "../ledger/postgres/url.js";
import type { Context } from "./context.js";
import { type AuthorityOptions, CaCore, checkDays, DAY_MS } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { guardHistory } from "./history-guard.js";
import { FileBatch, PUBLIC_MODE, SECRET_MODE } from "./home.js";
import { ledgerLocation } from "./ledger-location.js";
import { BACKDATE_MS } from "./issuance.js";
import { loadProfile, type Profile } from "./profiles.js";
import { recordOf } from "./records.js";
import { generateTokenKey, parseUri, PASSPHRASE_CHECK, ROOT_KEY_URI, tokenHistoryKey } from "./root-key.js";
import { type CrlResult, issueCrl } from "./revocation.js";
import { passphraseProblem } from "./secret-strength.js";
import { spoofingProblem } from "./spoofing.js";
import { type CertificateView, viewOf } from "./views.js";

export const DEFAULT_ROOT_DAYS = 3650;

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
  /** RFC 7512 URI of a PKCS#11 token and key label: the key is generated there and never leaves it. */
  pkcs11?: string;
}

export interface InitRootResult {
  view: CertificateView;
  certificatePath: string;
  crl: CrlResult;
}

/** Creates a root CA and its first CRL in a home that has none; on failure the home is left as it was. */
export async function initRoot(options: AuthorityOptions, ctx: Context, params: InitRootParams): Promise<InitRootResult> {
  const { home } = options;
  if (home.exists()) throw new PkiError("conflict", `a CA already exists in ${home.dir}`, "pki never overwrites a CA; choose another --home");
  const now = ctx.now;
  const cn = params.commonName.normalize("NFC").trim();
  if (!cn || cn.length > 64 || /\p{Cc}/u.test(cn)) throw new PkiError("usage", "--cn must be 1 to 64 printable characters");
  if (params.country !== undefined && !/^[A-Z]{2}$/.test(params.country)) {
    throw new PkiError("usage", `--country "${params.country}" must be a two-letter ISO 3166 code such as NL`);
  }
  const org = params.organization?.normalize("NFC").trim();
  if (org !== undefined && (!org || org.length > 64 || /\p{Cc}/u.test(org))) throw new PkiError("usage", "--org must be 1 to 64 printable characters");
  for (const [flag, value] of [["--cn", cn], ["--org", org]] as const) {
    const spoofing = value === undefined ? null : spoofingProblem(value);
    if (spoofing) throw new PkiError("usage", `${flag} "${shown(value!)}" ${spoofing}`, "every client and server shows the root's name to people deciding whether to trust it", "CONFUSABLE_NAME");
  }
  const days = checkDays(params.days ?? DEFAULT_ROOT_DAYS, "--days");
  const keyType = params.keyType ?? "ec-p256";
  const profile = loadProfile(params.profile ?? join(options.templatesDir, "profiles", "root.ini"), { PKI_NAME: cn });
  checkRootProfile(profile);

  const keyring = options.keyring ?? new Keyring(options.passphrase, true);
  const passphrase = await keyring.passphrase();
  const weak = passphraseProblem(passphrase);
  if (weak) throw new PkiError("secret", `the CA passphrase ${weak}`, undefined, "WEAK_PASSPHRASE");
  const subject: NameAttribute[] = [
    ...(params.country ? [{ type: "C", value: params.country }] : []),
    ...(org ? [{ type: "O", value: org }] : []),
    { type: "CN", value: cn },
  ];
  const validity = { serial: randomSerial(), notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + days * DAY_MS), subject, keyType, extensions: profile.extensions };
  const uri = params.pkcs11 === undefined ? undefined : await parseUri(params.pkcs11);
  let record: ReturnType<typeof recordOf>;
  let signer: Signer;
  let tokenKey: TokenKey | undefined;
  let passphraseCheck: Uint8Array | undefined;
  let historyKey: HistoryKey;
  if (uri) {
    const generated = await generateTokenKey(options, uri, keyType);
    tokenKey = generated.key;
    try {
      const { x509 } = await import("../crypto/provider.js");
      const cert = await createRootCertificate({ ...validity, keys: { publicKey: new x509.PublicKey(new Uint8Array(generated.spki)), signing: generated.signing } });
      record = recordOf(cert, "root", cn, null, null, now);
      signer = { certificate: cert, ...generated.signing };
      historyKey = tokenHistoryKey(tokenKey);
      passphraseCheck = await keyring.seal(await exportPkcs8((await generateKeyPair("ec-p256")).privateKey));
    } catch (e) {
      tokenKey.discard();
      throw e;
    }
  } else {
    const keys = await generateKeyPair(keyType);
    const cert = await createRootCertificate({ ...validity, keys });
    const pkcs8 = await exportPkcs8(keys.privateKey);
    record = recordOf(cert, "root", cn, await keyring.seal(pkcs8), null, now);
    signer = await keySigner(cert, pkcs8);
    historyKey = historyKeyFromPkcs8(pkcs8);
  }

  const homeExisted = existsSync(home.dir);
  let location: string;
  try {
    location = ledgerLocation(options);
    home.create();
  } catch (e) {
    // A key made in the token for a CA that was not created would block the label for good (PKCS11_KEY_EXISTS).
    tokenKey?.discard();
    throw e;
  }
  const postgres = isDatabaseUrl(location);
  const files = new FileBatch();
  let ledger: Ledger | undefined;
  let crl: CrlResult;
  try {
    files.stage(home.caCertificate, toPem(record.der, "CERTIFICATE"), PUBLIC_MODE);
    if (postgres) files.stage(home.databasePointer, `${withoutPassword(location)}\n`, SECRET_MODE);
    const l = (ledger = await openLedger(location, { create: true }));
    const core = new CaCore(options, l, record);
    // The first CRL comes from the same code as every later one (pki crl, revoke).
    crl = await l.write(async (raw) => {
      // Checked under the write lock: two init-roots on one database cannot both pass.
      if (postgres && (await raw.activeRoot())) {
        throw new PkiError("conflict", `the PostgreSQL ledger ${describeDatabase(location)} already holds a CA`, "pki never overwrites a CA; give an empty database");
      }
      const guard = await guardHistory(raw, historyKey, home, () => {
        throw new Error("a new ledger has nothing to seal");
      }, { newLedger: true });
      const tx = guard.writer;
      await tx.insertCertificate(record);
      if (uri && passphraseCheck) {
        await tx.setSetting(ROOT_KEY_URI, uri.text);
        await tx.setSetting(PASSPHRASE_CHECK, Buffer.from(passphraseCheck).toString("base64"));
      }
      await tx.appendEvent(core.event(ctx, "ca-created", record.serial, { name: cn, subject: record.subject, notAfter: record.notAfter, keyType, sha256: record.sha256, ...(uri ? { pkcs11: uri.text } : {}) }));
      const crl = await issueCrl(core, ctx, tx, signer, files);
      await guard.stageAnchor(files);
      return crl;
    });
    await l.write((tx) => files.commit(tx));
    await l.close();
    ledger = undefined;
  } catch (e) {
    files.abort();
    await ledger?.close();
    tokenKey?.discard();
    // Leave the home as we found it: no half-made CA that would block the next attempt. (A
    // PostgreSQL ledger's rows went with the rolled-back transaction; its schema stays, empty.)
    if (!postgres) for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(home.ledger + suffix, { force: true });
    if (!homeExisted) removeEmptyTree(home.dir);
    throw e;
  }
  return { view: viewOf(record, now), certificatePath: home.caCertificate, crl };
}

/**
 * What a root profile must keep, whatever its file says: the root signs leaves only (pathlen:0,
 * so no certificate it signs can act as a CA even if a leaf profile slipped), and the
 * constraints are critical so that no verifier may ignore them.
 */
export function checkRootProfile(profile: Profile): void {
  const bc = profile.extensions.basicConstraints;
  if (!bc?.ca || bc.pathLength !== 0 || !bc.critical) {
    throw new PkiError("invalid", `${profile.file}: a root profile needs basicConstraints = critical, CA:true, pathlen:0`, undefined, "PROFILE_POLICY");
  }
  const ku = profile.extensions.keyUsage;
  if (!ku?.critical || !ku.usages.includes("keyCertSign") || !ku.usages.includes("cRLSign")) {
    throw new PkiError("invalid", `${profile.file}: a root profile needs keyUsage = critical, keyCertSign, cRLSign`, undefined, "PROFILE_POLICY");
  }
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
