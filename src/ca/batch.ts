import { generateKeyPair as generateNodeKeyPair } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { createLeafCertificate } from "../crypto/certificates.js";
import { deriveKeyEncryptionKey, encryptedKeyPem, encryptPrivateKey, type KeyType, signingAlgorithm } from "../crypto/keys.js";
import { toPem } from "../crypto/pem.js";
import { x509 } from "../crypto/provider.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { PUBLIC_MODE, SECRET_MODE } from "./home.js";
import { BACKDATE_MS, checkLeafProfile, leafNotAfter } from "./issuance.js";
import { validateName } from "./names.js";
import { loadProfile } from "./profiles.js";
import { recordOf } from "./records.js";
import { statusOf } from "./views.js";

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
  const seen = new Set<string>();
  for (const [i, n] of names.entries()) {
    if (seen.has(n)) throw new PkiError("usage", `line ${i + 1}: "${n}" appears twice`);
    seen.add(n);
    const existing = core.ledger.activeByName(n, "client");
    if (existing && statusOf(existing, now) === "valid") throw new PkiError("conflict", `line ${i + 1}: "${n}" already has a valid certificate`, "remove it from the list, or renew it with pki renew");
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
        const profile = loadProfile(profileFile, { PKI_NAME: name });
        const { publicKey, pkcs8 } = await newKey(keyType, native);
        return { name, profile, publicKey, pkcs8, keyEncrypted: await encryptPrivateKey(pkcs8, kek) };
      }),
    );
    await core.change(
      async (files) => {
        core.assertPassphraseCurrent(root);
        for (const item of prepared) {
          const current = core.ledger.activeByName(item.name, "client");
          if (current && statusOf(current, now) === "valid") throw new PkiError("conflict", `"${item.name}" was issued by another pki process meanwhile`);
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
          if (current) core.ledger.markSuperseded(current.serial, record.serial);
          core.ledger.insertCertificate(record);
          core.ledger.appendEvent(core.event(now, "issued", record.serial, { name: item.name, kind: "client", subject: record.subject, notAfter: record.notAfter, sha256: record.sha256, fromCsr: false, batch: true }));
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
