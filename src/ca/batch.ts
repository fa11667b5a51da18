import { generateKeyPair as generateNodeKeyPair } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { createLeafCertificate } from "../crypto/certificates.js";
import { deriveKeyEncryptionKey, encryptedKeyPem, encryptPrivateKey, type KeyType, signingAlgorithm } from "../crypto/keys.js";
import { toPem } from "../crypto/pem.js";
import { x509 } from "../crypto/provider.js";
import type { CaCore } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { PUBLIC_MODE, SECRET_MODE } from "./home.js";
import { BACKDATE_MS, checkLeafProfile, leafNotAfter } from "./issuance.js";
import { usagesForKey } from "./key-usage.js";
import { claimName } from "./name-claims.js";
import { nameKey, validateName } from "./names.js";
import { loadProfile } from "./profiles.js";
import { recordOf } from "./records.js";

const generateNodeKeyPairAsync = promisify(generateNodeKeyPair);

export interface BatchParams {
  names: readonly string[];
  /** Default "ec-p256". */
  keyType?: KeyType;
  days?: number;
  profile?: string;
  /** Certificates per transaction. Default 500: memory stays flat however long the list. */
  chunkSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface BatchResult {
  issued: number;
  firstSerial: string | null;
  lastSerial: string | null;
  seconds: number;
}

/**
 * Issues many client certificates in one process: names are all checked before anything is
 * issued (a bad or taken name refuses the whole batch), then each chunk is one transaction.
 * One PBKDF2 derivation protects every key of the batch (see deriveKeyEncryptionKey); RSA
 * keys are generated on Node's thread pool, so every core works.
 */
export async function issueBatch(core: CaCore, p: BatchParams): Promise<BatchResult> {
  const started = performance.now();
  const now = core.now();
  const names = p.names.map((n, i) => {
    try {
      return validateName(n);
    } catch (e) {
      throw new PkiError("usage", `line ${i + 1}: ${(e as Error).message}`);
    }
  });
  const seen = new Map<string, number>();
  for (const [i, n] of names.entries()) {
    const key = nameKey(n);
    const first = seen.get(key);
    if (first !== undefined) {
      const same = names[first] === n ? `"${shown(n)}" appears twice` : `"${shown(n)}" is the same name as "${shown(names[first]!)}"`;
      throw new PkiError("usage", `line ${i + 1}: ${same} (line ${first + 1})`, undefined, "DUPLICATE_NAME");
    }
    seen.set(key, i);
    try {
      claimName(core, n, now);
    } catch (e) {
      if (e instanceof PkiError) throw new PkiError(e.kind, `line ${i + 1}: ${e.message}`, "remove it from the list, or renew it with pki renew", e.code);
      throw e;
    }
  }
  const keyType = p.keyType ?? "ec-p256";
  const notAfter = leafNotAfter(core, now, p.days);
  const profileFile = p.profile ?? join(core.options.templatesDir, "profiles", "client.ini");
  const sample = loadProfile(profileFile, { PKI_NAME: names[0]! });
  checkLeafProfile(sample, sample.extensions);
  const root = await core.unlockRoot();
  const kek = await deriveKeyEncryptionKey(root.passphrase);
  // Bulk signing uses Node's built-in WebCrypto: its keys stay parsed in native code, where
  // @peculiar/webcrypto re-imports the key on every signature (0.8 ms each, measured).
  const native = globalThis.crypto;
  const rootAlg = signingAlgorithm(root.keyType);
  const rootKey = await native.subtle.importKey("pkcs8", await core.decryptKey(root.record.keyEncrypted!, root.passphrase) as Uint8Array<ArrayBuffer>, rootAlg, false, ["sign"]);
  core.home.create();
  const chunkSize = p.chunkSize ?? 500;
  let issued = 0;
  let firstSerial: string | null = null;
  let lastSerial: string | null = null;
  for (let start = 0; start < names.length; start += chunkSize) {
    const chunk = names.slice(start, start + chunkSize);
    // Keys and profiles first, outside the write lock: this is where the time goes.
    const prepared = await Promise.all(
      chunk.map(async (name) => {
        const loaded = loadProfile(profileFile, { PKI_NAME: name });
        const profile = { ...loaded, extensions: usagesForKey(loaded.extensions, keyType) };
        const { publicKey, pkcs8 } = await newKey(keyType, native);
        return { name, profile, publicKey, pkcs8, keyEncrypted: await encryptPrivateKey(pkcs8, kek) };
      }),
    );
    await core.change(
      async (files) => {
        core.assertPassphraseCurrent(root);
        for (const item of prepared) {
          const expiredHolders = claimName(core, item.name, now);
          const serial = core.freshSerial();
          const cert = await createLeafCertificate({
            serial,
            notBefore: new Date(now.getTime() - BACKDATE_MS),
            notAfter,
            subject: item.profile.subject,
            publicKey: item.publicKey,
            issuer: root.cert,
            issuerKey: rootKey,
            issuerKeyType: root.keyType,
            extensions: item.profile.extensions,
            crypto: native,
          });
          const record = recordOf(cert, "client", item.name, item.keyEncrypted, null, now);
          for (const h of expiredHolders) core.ledger.markSuperseded(h.serial, record.serial);
          core.ledger.insertCertificate(record);
          core.ledger.appendEvent(core.event(now, "issued", record.serial, { name: item.name, kind: "client", subject: record.subject, notAfter: record.notAfter, sha256: record.sha256, fromCsr: false, batch: true,
            ...(expiredHolders.length > 0 ? { replaces: expiredHolders[0]!.serial } : {}), ...(expiredHolders.length > 1 ? { alsoReplaces: expiredHolders.slice(1).map((h) => h.serial) } : {}) }));
          files.stage(core.home.certificate(item.name), toPem(record.der, "CERTIFICATE"), PUBLIC_MODE);
          files.stage(core.home.key(item.name), encryptedKeyPem(item.keyEncrypted), SECRET_MODE);
          firstSerial ??= record.serial;
          lastSerial = record.serial;
        }
      },
      { durable: false },
    );
    issued += chunk.length;
    p.onProgress?.(issued, names.length);
  }
  return { issued, firstSerial, lastSerial, seconds: (performance.now() - started) / 1000 };
}

/** EC keys through Node's WebCrypto; RSA through Node's thread pool, so several generate in parallel. */
async function newKey(type: KeyType, native: globalThis.Crypto): Promise<{ publicKey: x509.PublicKey; pkcs8: Uint8Array }> {
  if (type.startsWith("rsa-")) {
    const { publicKey, privateKey } = await generateNodeKeyPairAsync("rsa", {
      modulusLength: Number(type.slice(4)),
      publicKeyEncoding: { type: "spki", format: "der" },
      privateKeyEncoding: { type: "pkcs8", format: "der" },
    });
    return { publicKey: new x509.PublicKey(new Uint8Array(publicKey)), pkcs8: new Uint8Array(privateKey) };
  }
  const keys = (await native.subtle.generateKey(signingAlgorithm(type), true, ["sign", "verify"])) as CryptoKeyPair;
  const [spki, pkcs8] = await Promise.all([native.subtle.exportKey("spki", keys.publicKey), native.subtle.exportKey("pkcs8", keys.privateKey)]);
  return { publicKey: new x509.PublicKey(spki), pkcs8: new Uint8Array(pkcs8) };
}
