import { CryptoError } from "../crypto/errors.js";
import type { KdfCache, KeyType } from "../crypto/keys.js";
import type { x509 } from "../crypto/provider.js";
import { crlPem } from "../crypto/pem.js";
import { normalizeSerial, randomSerial } from "../crypto/serial.js";
import type { CertificateRecord, Ledger, NewEvent } from "../ledger/ledger.js";
import { PkiError, shown } from "./errors.js";
import { FileBatch, type Home, PUBLIC_MODE } from "./home.js";
import { notFound } from "./suggest.js";
import { shellQuote } from "./shell-quote.js";
import { readFileSync } from "node:fs";

export const DAY_MS = 86_400_000;

export interface AuthorityOptions {
  home: Home;
  /** Folder holding `profiles/<kind>.ini`, the profiles shipped with pki. */
  templatesDir: string;
  /** Who is acting, for the event log (an OS user name, never a secret). */
  actor: string;
  /** Supplies the CA passphrase, only when a private key must be used. */
  passphrase: () => Promise<string>;
  /**
   * Called when the passphrase does not open the CA key: `retry` asks `passphrase` again (a
   * terminal prompt allows three tries), `hint` says where to fix it (the prompt, the
   * environment variable or the file it came from).
   */
  wrongPassphrase?: () => { retry: boolean; hint: string };
  /** The clock; tests move it. Default: the system clock. */
  now?: () => Date;
  /** Told once when a change has waited about a second for another process's write lock. */
  onLockWait?: () => void;
}

/** The root with its key opened: what signing needs. */
export interface UnlockedRoot {
  record: CertificateRecord;
  cert: x509.X509Certificate;
  key: CryptoKey;
  keyType: KeyType;
  passphrase: string;
  /** The decrypted PKCS#8, for signers that keep the key in native code (pki serve). */
  pkcs8: Uint8Array;
}

/** State shared by the authority's operations: the ledger, the root, the home, the clock. */
export class CaCore {
  constructor(
    readonly options: AuthorityOptions,
    readonly ledger: Ledger,
    readonly root: CertificateRecord,
  ) {}

  get home(): Home {
    return this.options.home;
  }

  now(): Date {
    return this.options.now?.() ?? new Date();
  }

  event(at: Date, action: string, serial: string | null, details: Record<string, unknown>): NewEvent {
    return { at: at.toISOString(), actor: this.options.actor, action, serial, details };
  }

  private unlocked: Promise<UnlockedRoot> | undefined;

  /** Opens the root key with the passphrase (asked once per process); a wrong passphrase is a "secret" error, BAD_PASSPHRASE. */
  unlockRoot(): Promise<UnlockedRoot> {
    this.unlocked ??= this.openRoot().catch((e: unknown) => {
      this.unlocked = undefined;
      throw e;
    });
    return this.unlocked;
  }

  private async openRoot(): Promise<UnlockedRoot> {
    // The ledger's root as it is now, not as it was at open: a passphrase change may have committed since.
    const record = this.ledger.activeRoot() ?? this.root;
    for (;;) {
      const passphrase = await this.options.passphrase();
      let pkcs8: Uint8Array;
      try {
        pkcs8 = await this.decryptKey(record.keyEncrypted!, passphrase);
      } catch (e) {
        if (!(e instanceof PkiError && e.code === "BAD_PASSPHRASE")) throw e;
        const wrong = this.options.wrongPassphrase?.();
        if (wrong?.retry) continue;
        throw new PkiError("secret", e.message, wrong?.hint ?? e.hint, e.code);
      }
      // Loaded here, not at the top: list and show never pay for @peculiar/x509 and WebCrypto.
      const [{ importPkcs8 }, { x509 }] = await Promise.all([import("../crypto/keys.js"), import("../crypto/provider.js")]);
      const { key, type } = await importPkcs8(pkcs8);
      return { record, cert: new x509.X509Certificate(record.der), key, keyType: type, passphrase, pkcs8 };
    }
  }

  /**
   * Decrypts a stored key. A key that is not the root's and does not open with a passphrase
   * that opened the root was stored under another passphrase: KEY_UNREADABLE, naming whose it is.
   */
  async decryptKey(encrypted: Uint8Array, passphrase: string, owner?: CertificateRecord, cache?: KdfCache): Promise<Uint8Array> {
    const { decryptPrivateKey } = await import("../crypto/keys.js");
    try {
      return await decryptPrivateKey(encrypted, passphrase, cache);
    } catch (e) {
      if (!(e instanceof CryptoError && e.code === "bad-passphrase")) throw e;
      if (!owner || owner.kind === "root") throw new PkiError("secret", "wrong passphrase for the CA key", "check PKI_PASSPHRASE or --passphrase-file", "BAD_PASSPHRASE");
      throw new PkiError(
        "secret",
        `${shown(owner.name)}'s key (serial ${owner.serial}) does not open with the CA passphrase: it was stored under another one`,
        `pki check lists such keys; give it a new key with: pki renew ${shellQuote(owner.name)}`,
        "KEY_UNREADABLE",
      );
    }
  }

  /**
   * Call inside the transaction of a change that stores keys encrypted under `root.passphrase`:
   * if a `pki passphrase change` committed since the root was unlocked, those keys would open
   * with neither passphrase, so the change is refused.
   */
  assertPassphraseCurrent(root: UnlockedRoot): void {
    const current = this.ledger.activeRoot()?.keyEncrypted;
    if (!current || Buffer.compare(current, root.record.keyEncrypted!) !== 0) {
      throw new PkiError("conflict", "the CA passphrase was changed by another pki process while this command ran; nothing was changed", "run the command again with the new passphrase", "PASSPHRASE_CHANGED");
    }
  }

  /**
   * The one way state changes: `work` runs holding the ledger's write lock and stages the
   * output files it wants; the transaction commits, then the files are renamed into place.
   * On any failure nothing is committed and no staged file is left behind.
   */
  async change<T>(work: (files: FileBatch) => Promise<T>, options: { durable?: boolean } = {}): Promise<T> {
    const files = new FileBatch(options);
    let result: T;
    try {
      result = await this.ledger.transactionAsync(() => work(files));
    } catch (e) {
      files.abort();
      throw e;
    }
    // Renames happen under the write lock too, so two processes cannot install their
    // outputs in the wrong order (an older crl.pem over a newer one); staged files whose
    // `current` check fails were overtaken and are dropped.
    try {
      this.ledger.transaction(() => {
        if (!files.commit().includes(this.home.crl)) this.healCrl();
      });
    } catch (e) {
      files.abort();
      throw new PkiError("storage", `the change is recorded in the ledger, but its output files were not updated (${(e as Error).message})`, "run: pki check --repair");
    }
    return result;
  }

  /**
   * A process killed between its commit and its rename leaves crl.pem older than the
   * ledger, so a revoked certificate would still get in. Every change that did not just
   * install a CRL itself re-installs the ledger's newest one when the file differs (called
   * under the write lock).
   */
  private healCrl(): void {
    const latest = this.ledger.latestCrl();
    if (!latest) return;
    const pem = crlPem(latest.der);
    let current: string | null = null;
    try {
      current = readFileSync(this.home.crl, "utf8");
    } catch {
      /* missing: write it */
    }
    if (current === pem) return;
    const batch = new FileBatch();
    batch.stage(this.home.crl, pem, PUBLIC_MODE);
    batch.commit();
  }

  /** Serial first (exact), then name: the current certificate, else the newest one. */
  find(target: string): CertificateRecord {
    const serial = normalizeSerial(target);
    const rec = (serial && this.ledger.bySerial(serial)) || this.findByName(target.normalize("NFC"));
    if (!rec) throw notFound(this, target);
    return rec;
  }

  /** A random serial not yet in the ledger; call under the write lock so no one takes it before the insert. */
  freshSerial(): string {
    let serial = randomSerial();
    while (this.ledger.serialExists(serial)) serial = randomSerial();
    return serial;
  }

  findByName(name: string): CertificateRecord | undefined {
    return this.ledger.activeByName(name, "client") ?? this.ledger.activeByName(name, "server") ?? this.ledger.latestByName(name);
  }
}

export function checkDays(days: number, flag: string): number {
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new PkiError("usage", `${flag} must be a whole number of days from 1 to 36500, not ${days}`);
  return days;
}
