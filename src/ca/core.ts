import { CryptoError } from "../crypto/errors.js";
import type { HistoryKey } from "../crypto/history-key.js";
import type { SealParameters } from "../crypto/key-batch.js";
import type { Keyring } from "../crypto/keyring.js";
import type { Signer } from "../crypto/signer.js";
import { randomSerial } from "../crypto/serial.js";
import type { CertificateRecord, Ledger, LedgerReader, LedgerWriter, NewEvent } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import { crashPoint } from "./crash-point.js";
import { PkiError, shown } from "./errors.js";
import { HISTORY_SEALED } from "./history.js";
import { assertAnchored, type AuthenticatedWriter, crlNumberOnDisk, type GuardOptions, guardHistory } from "./history-guard.js";
import { FileBatch, type Home, PUBLIC_MODE } from "./home.js";
import { crlHook } from "./hooks.js";
import { crlBundlePem, latestCrls } from "./roots.js";
import { openTokenRoot, passphraseWitness, rootKeyUri, type TokenRoot } from "./root-key.js";
import { findByName, findCertificate } from "./reading.js";
import { notFound } from "./suggest.js";
import { shellQuote } from "./shell-quote.js";

export { DAY_MS } from "./views.js";

export interface AuthorityOptions {
  home: Home;
  /** Folder holding `profiles/<kind>.ini`, the profiles shipped with pki. */
  templatesDir: string;
  /** Supplies the CA passphrase, only when a private key must be used. */
  passphrase: () => Promise<string>;
  /** Supplies the PIN of the PKCS#11 token holding the root key, only for a CA created with init-root --pkcs11. */
  tokenPin?: () => Promise<string>;
  /** A keyring already unlocked (a server holding the CA key for its life). Default: one built on `passphrase`. */
  keyring?: Keyring;
  /**
   * The passphrase is at hand without a prompt (a file, the environment): start the slow key
   * derivation while an operation's code loads, instead of after.
   */
  unlockEarly?: boolean;
  /**
   * Called when the passphrase does not open the CA key: `retry` asks `passphrase` again (a
   * terminal prompt allows three tries), `hint` says where to fix it (the prompt, the
   * environment variable or the file it came from).
   */
  wrongPassphrase?: () => { retry: boolean; hint: string };
  /** Told once when a change has waited about a second for another process's write lock. */
  onLockWait?: () => void;
  /**
   * Called (outside the write lock) after pki reinstalled crl.pem from the ledger because the
   * file was stale or missing: servers must reload it like any new CRL, so the CLI runs the CRL hook.
   */
  onCrlRepaired?: (crl: { hook: string | null; path: string; number: number }) => void;
  /** A PostgreSQL URL (postgres://...) for the ledger, from the environment or a flag; see ledger-location.ts. */
  database?: string;
}

/** State shared by the authority's operations: the ledger, the root, the home. */
export class CaCore {
  private keyringLoaded: Promise<Keyring> | undefined;

  constructor(
    readonly options: AuthorityOptions,
    readonly ledger: Ledger,
    readonly root: CertificateRecord,
  ) {}

  get home(): Home {
    return this.options.home;
  }

  event(ctx: Context, action: string, serial: string | null, details: Record<string, unknown>): NewEvent {
    return { at: ctx.now.toISOString(), actor: ctx.actor, action, serial, details };
  }

  /** The process's keyring, loaded on first use (list and show never load the crypto stack). */
  keyring(): Promise<Keyring> {
    return (this.keyringLoaded ??= import("../crypto/keyring.js").then(({ Keyring }) => this.options.keyring ?? new Keyring(this.options.passphrase)));
  }

  /** With `unlockEarly`, starts opening `encrypted` now; the operation that needs it finds the derived key ready. */
  unlockEarly(encrypted: Uint8Array | null | undefined): void {
    if (!this.options.unlockEarly || !encrypted) return;
    // Errors surface where the key is really used; this is only a head start.
    void this.keyring().then((k) => k.unseal(encrypted)).catch(() => {});
  }

  /** The root, and the sealed key the passphrase was verified against (see passphraseWitness, assertPassphraseCurrent). */
  private verified: Promise<{ record: CertificateRecord; witness: Uint8Array }> | undefined;
  private token: Promise<TokenRoot> | undefined;
  private rootKeyUri: Promise<string | undefined> | undefined;

  /**
   * Checks the passphrase against the root key as the ledger holds it now (a passphrase change
   * may have committed since open), asking again while `wrongPassphrase` allows (three tries at
   * a terminal); a wrong one is a "secret" error, BAD_PASSPHRASE. Decrypts only: no signer is
   * made, so exports never unlock the root for signing.
   */
  verifyPassphrase(): Promise<{ record: CertificateRecord; witness: Uint8Array }> {
    this.verified ??= this.openRootKey().catch((e: unknown) => {
      this.verified = undefined;
      throw e;
    });
    return this.verified;
  }

  private async openRootKey(): Promise<{ record: CertificateRecord; witness: Uint8Array }> {
    const keyring = await this.keyring();
    const { record, witness } = await this.ledger.read(async (r) => {
      const root = (await r.activeRoot()) ?? this.root;
      return { record: root, witness: await passphraseWitness(r, root) };
    });
    for (;;) {
      try {
        await keyring.unseal(witness);
        return { record, witness };
      } catch (e) {
        if (!(e instanceof CryptoError && e.code === "bad-passphrase")) throw e;
        const wrong = this.options.wrongPassphrase?.();
        if (wrong?.retry) {
          await keyring.forgetPassphrase();
          continue;
        }
        throw new PkiError("secret", "wrong passphrase for the CA key", wrong?.hint ?? "check PKI_PASSPHRASE or --passphrase-file", "BAD_PASSPHRASE");
      }
    }
  }

  /** The root's signer: its key is unlocked (or its token logged in to) once for the life of this authority. */
  async rootSigner(): Promise<Signer> {
    // Where the root key is never changes for a CA: read once, so signing inside a transaction needs no second read.
    const token = await this.tokenRoot();
    if (token) return token.signer;
    const { record } = await this.verifyPassphrase();
    const keyring = await this.keyring();
    return keyring.signer(record.der, record.keyEncrypted!).catch(wrongPassphrase);
  }

  /** The root that signed `rec` (after pki rotate-root, not necessarily the current one). */
  async issuerOf(rec: CertificateRecord): Promise<CertificateRecord> {
    if (rec.kind === "root" || rec.issuer === null || rec.issuer === this.root.serial) return rec.kind === "root" ? rec : this.root;
    const issuer = await this.ledger.read((r) => r.bySerial(rec.issuer!));
    return issuer?.kind === "root" ? issuer : this.root;
  }

  /**
   * The signer of `root`, the current root or an older one still trusted during a rotation's
   * overlap (it signs its own CRLs and OCSP answers). An older root's key is sealed in the ledger.
   */
  async signerFor(root: CertificateRecord): Promise<Signer> {
    if (root.serial === this.root.serial) return this.rootSigner();
    if (!root.keyEncrypted) {
      throw new PkiError("storage", `the key of the root ${shown(root.name)} (serial ${root.serial}) is not in the ledger`, "restore the home from a backup", "STORAGE");
    }
    await this.verifyPassphrase();
    return (await this.keyring()).signer(root.der, root.keyEncrypted).catch(wrongPassphrase);
  }

  /**
   * A stored private key, decrypted (without unlocking the root for signing). A key that is not
   * the root's and does not open with a passphrase that opened the root was stored under another
   * passphrase: KEY_UNREADABLE, naming whose it is.
   */
  async unsealKey(encrypted: Uint8Array, owner?: CertificateRecord): Promise<Uint8Array> {
    await this.verifyPassphrase();
    try {
      return await (await this.keyring()).unseal(encrypted);
    } catch (e) {
      if (!(e instanceof CryptoError && e.code === "bad-passphrase")) throw e;
      if (!owner || owner.kind === "root") wrongPassphrase(e);
      throw keyUnreadable(owner);
    }
  }

  /** A root in a PKCS#11 token, logged in to once for the life of this authority; null for a root sealed in the ledger. */
  private async tokenRoot(): Promise<TokenRoot | null> {
    // Where the root key is never changes for a CA: read once, so signing inside a transaction needs no second read.
    const uri = await (this.rootKeyUri ??= this.ledger.read((r) => rootKeyUri(r)));
    if (!uri) return null;
    this.token ??= import("../crypto/provider.js")
      .then(({ x509 }) => openTokenRoot(this.options, uri, new x509.X509Certificate(new Uint8Array(this.root.der))))
      .catch((e: unknown) => {
        this.token = undefined;
        throw e;
      });
    return this.token;
  }

  /**
   * The key that authenticates the ledger's history, from the root key (verified first), or the
   * token's HMAC key for a root in a token: every change needs it, so that no event is written
   * that the CA holder did not make.
   */
  async historyKey(): Promise<HistoryKey> {
    const token = await this.tokenRoot();
    if (token) return token.history;
    await this.verifyPassphrase();
    // Rotation gives the CA new roots, not a new history: the key stays the first root's, whose sealed key the ledger keeps.
    const first = await (this.firstRoot ??= this.ledger.read(async (r) => (await r.roots())[0] ?? this.root).then((root) => ("record" in root ? root.record : root)));
    return (await this.keyring()).historyKey(first.der, first.keyEncrypted!).catch(wrongPassphrase);
  }

  private firstRoot: Promise<CertificateRecord> | undefined;

  /** A server about to trust the ledger's roots (and roles) for its life: the anchor must vouch for them (LEDGER_TAMPERED). */
  async assertAnchored(): Promise<void> {
    const key = await this.historyKey();
    await this.ledger.read((r) => assertAnchored(r, key, this.home));
  }

  /** Encrypts a new private key under the CA passphrase; call after rootSigner or unsealKey has verified it. */
  async sealKey(pkcs8: Uint8Array): Promise<Uint8Array> {
    // A root in a token signs without the passphrase: it is checked here, before it seals anything.
    await this.verifyPassphrase();
    return (await this.keyring()).seal(pkcs8);
  }

  /** What bulk issuance seals new keys with (the passphrase's derived key, see Keyring.sealingKey); verifies the passphrase first, as sealKey does. */
  async sealParameters(): Promise<SealParameters> {
    await this.verifyPassphrase();
    const key = await (await this.keyring()).sealingKey();
    const { sealingAlgorithm } = await import("../crypto/sealing.js");
    return { key: key.key, algorithm: await sealingAlgorithm(key) };
  }

  /**
   * Call inside the transaction of a change that stores keys encrypted under the passphrase
   * verified: if a `pki passphrase change` committed since, those keys would open with neither
   * passphrase, so the change is refused.
   */
  async assertPassphraseCurrent(tx: LedgerReader): Promise<void> {
    const root = await tx.activeRoot();
    const opened = this.verified && (await this.verified.catch(() => undefined))?.record;
    if (root && opened && root.serial !== opened.serial) throw rootRotated();
    const current = root && (await passphraseWitness(tx, root));
    const verified = this.verified && (await this.verified.catch(() => undefined))?.witness;
    if (!current || !verified || Buffer.compare(current, verified) !== 0) {
      throw new PkiError("conflict", "the CA passphrase was changed by another pki process while this command ran; nothing was changed", "run the command again with the new passphrase", "PASSPHRASE_CHANGED");
    }
  }

  /**
   * Whether the root this process unlocked is still the CA's active root: false once another
   * process ran rotate-root. A long-running pki serve then hands CLI commands back to the
   * client to run directly instead of refusing them (ROOT_ROTATED) until it is restarted.
   */
  async unlockedRootIsActive(): Promise<boolean> {
    const opened = this.verified && (await this.verified.catch(() => undefined))?.record;
    if (!opened) return true;
    const root = await this.ledger.read((r) => r.activeRoot());
    return !root || root.serial === opened.serial;
  }

  /**
   * Call inside the transaction of a change that signs with `signer` (the root this process
   * unlocked): a rotate-root committed since by another process (a long-running pki serve) would
   * otherwise have the old root sign new certificates under the new root's AIA and CDP.
   */
  async assertSignerCurrent(tx: LedgerReader, signer: Signer): Promise<void> {
    const root = await tx.activeRoot();
    if (root && root.serial !== signer.certificate.serialNumber.toLowerCase()) throw rootRotated();
  }

  /**
   * The one way state changes: `work` runs holding the ledger's write lock and stages the
   * output files it wants; the transaction commits, then the files are renamed into place.
   * On any failure nothing is committed and no staged file is left behind. Every change
   * unlocks the history key: the ledger is first checked against its authenticated history
   * (guardHistory), every event `work` appends carries a MAC, and the anchor is rewritten.
   */
  async change<T>(ctx: Context, work: (tx: AuthenticatedWriter, files: FileBatch) => Promise<T>, options: { durable?: boolean; background?: boolean } & GuardOptions = {}): Promise<T> {
    ctx.signal?.throwIfAborted();
    const key = await this.historyKey();
    const files = new FileBatch({ ...options, home: this.home.dir });
    let result: T;
    let head = 0;
    try {
      result = await this.ledger.write(async (raw) => {
        const guard = await guardHistory(raw, key, this.home, (details) => this.event(ctx, HISTORY_SEALED, null, details), options);
        const r = await work(guard.writer, files);
        head = await guard.stageAnchor(files);
        // Every output written before the commit (background writes fail here, not after it).
        await files.ready();
        crashPoint("before-commit");
        return r;
      });
    } catch (e) {
      await files.discard();
      throw e;
    }
    crashPoint("after-commit");
    // Renames happen under the write lock too, so two writers cannot install their
    // outputs in the wrong order (an older crl.pem over a newer one); staged files whose
    // `current` check fails were overtaken and are dropped. Every change appends an event, so
    // while the newest event is still this change's, nothing overtook them (one query, not
    // one per file: bulk issuance stages a thousand files a transaction).
    const unchanged = async (r: LedgerReader) => head > 0 && (await r.headEventId()) === head;
    let healed: { hook: string | null; path: string; number: number } | null = null;
    try {
      healed = await this.ledger.write(async (tx) => ((await files.commit(tx, unchanged)).includes(this.home.crl) ? null : this.healCrl(tx)));
    } catch (e) {
      files.abort();
      throw new PkiError("storage", `the change is recorded in the ledger, but its output files were not updated (${(e as Error).message})`, "run: pki check --repair");
    }
    if (healed) this.options.onCrlRepaired?.(healed);
    return result;
  }

  /**
   * A process killed between its commit and its rename leaves crl.pem older than the
   * ledger, so a revoked certificate would still get in. Every change that did not just
   * install a CRL itself re-installs the ledger's newest one when the file differs (called
   * under the write lock).
   */
  private async healCrl(tx: LedgerWriter): Promise<{ hook: string | null; path: string; number: number } | null> {
    const latest = await tx.latestCrl();
    if (!latest) return null;
    // CRL numbers only move forward: a crl.pem as new as the ledger's newest, or newer, is never replaced.
    const onDisk = crlNumberOnDisk(this.home, latest);
    if (onDisk !== null && onDisk >= latest.number) return null;
    // During a root overlap crl.pem holds each trusted root's newest CRL.
    const pem = crlBundlePem(await latestCrls(tx));
    const batch = new FileBatch({ home: this.home.dir });
    batch.stage(this.home.crl, pem, PUBLIC_MODE);
    await batch.commit();
    return { hook: await crlHook(tx, this.home), path: this.home.crl, number: latest.number };
  }

  /** Serial first (exact), then name: the current certificate, else the newest one. */
  async find(r: LedgerReader, target: string): Promise<CertificateRecord> {
    const rec = await findCertificate(r, target);
    if (!rec) throw await notFound(r, target);
    return rec;
  }

  /** A random serial not yet in the ledger; call under the write lock so no one takes it before the insert. */
  async freshSerial(tx: LedgerWriter): Promise<string> {
    let serial = randomSerial();
    while (await tx.serialExists(serial)) serial = randomSerial();
    return serial;
  }

  findByName(r: LedgerReader, name: string): Promise<CertificateRecord | undefined> {
    return findByName(r, name);
  }
}

function rootRotated(): PkiError {
  return new PkiError("conflict", "the root was rotated by another pki process since this one opened the CA; nothing was changed", "run the command again (restart pki serve)", "ROOT_ROTATED");
}

function wrongPassphrase(e: unknown): never {
  if (e instanceof CryptoError && e.code === "bad-passphrase") {
    throw new PkiError("secret", "wrong passphrase for the CA key", "check PKI_PASSPHRASE or --passphrase-file", "BAD_PASSPHRASE");
  }
  throw e;
}

/** A stored key that the CA passphrase does not open: it was stored under another one. */
export function keyUnreadable(owner: CertificateRecord): PkiError {
  return new PkiError(
    "secret",
    `${shown(owner.name)}'s key (serial ${owner.serial}) does not open with the CA passphrase: it was stored under another one`,
    `pki check lists such keys; give it a new key with: pki renew ${shellQuote(owner.name)}`,
    "KEY_UNREADABLE",
  );
}

export function checkDays(days: number, flag: string): number {
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new PkiError("usage", `${flag} must be a whole number of days from 1 to 36500, not ${days}`);
  return days;
}
