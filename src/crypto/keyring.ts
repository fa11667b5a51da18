import { createHash } from "node:crypto";
import { CryptoError } from "./errors.js";
import { type HistoryKey, historyKeyFromPkcs8 } from "./history-key.js";
import { pbes2Derive, type Pbes2Key, pbes2KeyFor, type Pbes2Parameters } from "./pbe.js";
import { decryptWithKey, encryptPrivateKey, KEY_PBKDF2_ITERATIONS, readEncryptedKey } from "./sealing.js";
import type { Signer } from "./signer.js";

/**
 * The passphrase and what is derived from it, for the life of one process (a command, or a
 * server that holds the CA key until it stops). PBKDF2 (600,000 rounds, 120-150 ms here)
 * runs at most once per salt; keys pki seals reuse the salt of a key already opened, so a
 * command derives the passphrase key once. Sharing a salt weakens nothing here: every key is
 * under the same passphrase, and each file keeps its own IV and stays standard encrypted
 * PKCS#8 that `openssl pkey` opens.
 */
export class Keyring {
  private secret: Promise<string> | undefined;
  private readonly derived = new Map<string, Promise<Uint8Array>>();
  private sealing: Promise<Pbes2Key> | undefined;
  private readonly signers = new Map<string, Promise<Signer>>();
  private readonly historyKeys = new Map<string, Promise<HistoryKey>>();
  /** How many times PBKDF2 ran over the passphrase (tests and the benchmark read it). */
  derivations = 0;

  /**
   * `fresh`: the passphrase is new (init-root, passphrase change), so nothing can verify it
   * and `seal` may derive at once; otherwise `seal` waits for a key to have been opened,
   * so a mistyped passphrase never encrypts anything.
   */
  constructor(
    private readonly source: () => Promise<string>,
    private readonly fresh = false,
  ) {}

  /** The passphrase, asked for once. */
  passphrase(): Promise<string> {
    return (this.secret ??= this.source());
  }

  /** Decrypts an encrypted PKCS#8 key to PKCS#8 DER; CryptoError "bad-passphrase" when it does not open. */
  async unseal(encrypted: Uint8Array): Promise<Uint8Array> {
    const k = readEncryptedKey(encrypted);
    const id = derivationId(k.parameters);
    let pending = this.derived.get(id);
    if (!pending) {
      pending = this.passphrase().then((p) => {
        this.derivations++;
        return pbes2KeyFor(p, k.parameters);
      });
      this.derived.set(id, pending);
    }
    try {
      const key = await pending;
      const pkcs8 = decryptWithKey(k, key);
      if (!this.sealing && isCurrent(k.parameters)) this.sealing = Promise.resolve({ salt: k.parameters.salt, iterations: k.parameters.iterations, key });
      return pkcs8;
    } catch (e) {
      if (e instanceof CryptoError && e.code === "bad-passphrase") this.derived.delete(id);
      throw e;
    }
  }

  /** Encrypts PKCS#8 DER under the passphrase (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC). */
  async seal(pkcs8: Uint8Array): Promise<Uint8Array> {
    if (!this.sealing) {
      if (!this.fresh) throw new Error("Keyring.seal: open a key with this passphrase first, so a wrong one is caught");
      this.sealing = this.passphrase().then((p) => {
        this.derivations++;
        return pbes2Derive(p, { iterations: KEY_PBKDF2_ITERATIONS });
      });
    }
    return encryptPrivateKey(pkcs8, await this.sealing);
  }

  /** The derived key `seal` encrypts with, for workers that seal keys in bulk (same rules as `seal`). */
  async sealingKey(): Promise<Pbes2Key> {
    if (!this.sealing) {
      if (!this.fresh) throw new Error("Keyring.sealingKey: open a key with this passphrase first, so a wrong one is caught");
      await this.seal(new Uint8Array(0));
    }
    return this.sealing!;
  }

  /** The signer of a CA certificate whose key is `keyEncrypted`, unlocked once for the life of the keyring. */
  signer(certificateDer: Uint8Array, keyEncrypted: Uint8Array): Promise<Signer> {
    const id = createHash("sha256").update(certificateDer).digest("hex");
    let signer = this.signers.get(id);
    if (!signer) {
      // @peculiar/x509 loads while PBKDF2 runs on the thread pool.
      const loading = Promise.all([import("./provider.js"), import("./signer.js")]);
      signer = Promise.all([this.unseal(keyEncrypted), loading]).then(([pkcs8, [{ x509 }, { keySigner }]]) => keySigner(new x509.X509Certificate(new Uint8Array(certificateDer)), pkcs8));
      signer.catch(() => this.signers.delete(id));
      this.signers.set(id, signer);
    }
    return signer;
  }

  /** The key authenticating the ledger's history, derived from the CA key `keyEncrypted` (see HistoryKey). */
  historyKey(certificateDer: Uint8Array, keyEncrypted: Uint8Array): Promise<HistoryKey> {
    const id = createHash("sha256").update(certificateDer).digest("hex");
    let key = this.historyKeys.get(id);
    if (!key) {
      key = this.unseal(keyEncrypted).then((pkcs8) => {
        try {
          return historyKeyFromPkcs8(pkcs8);
        } finally {
          pkcs8.fill(0);
        }
      });
      key.catch(() => this.historyKeys.delete(id));
      this.historyKeys.set(id, key);
    }
    return key;
  }

  /** Forgets a passphrase that proved wrong, so the next use asks for it again. */
  async forgetPassphrase(): Promise<void> {
    await this.lock();
  }

  /** Forgets the passphrase and everything derived from it. */
  async lock(): Promise<void> {
    for (const key of this.derived.values()) (await key.catch(() => null))?.fill(0);
    this.derived.clear();
    this.signers.clear();
    this.historyKeys.clear();
    this.sealing = undefined;
    this.secret = undefined;
  }
}

function derivationId(p: Pbes2Parameters): string {
  return `${p.digest}:${p.iterations}:${p.keyLength}:${Buffer.from(p.salt).toString("hex")}`;
}

/** Parameters pki itself writes today: a key derived with them may seal new keys. */
function isCurrent(p: Pbes2Parameters): boolean {
  return p.digest === "sha256" && p.keyLength === 32 && p.iterations >= KEY_PBKDF2_ITERATIONS;
}
