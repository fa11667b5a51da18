import { deriveKeyEncryptionKey, encryptedKeyPem, encryptPrivateKey, type KdfCache } from "../crypto/keys.js";
import type { Blob, CertificateRecord } from "../ledger/ledger.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { SECRET_MODE } from "./home.js";
import { MIN_PASSPHRASE_LENGTH } from "./init.js";

type WithKey = CertificateRecord & { keyEncrypted: Blob };

/** What `changePassphrase` asks of its caller: the new passphrase, checked with `problem` (a prompt asks again while it objects). */
export type NewPassphraseSource = (problem: (candidate: string) => string | null) => Promise<string>;

export interface PassphraseProgress {
  /** Keys re-encrypted so far, of `total`; first called with 0 before the slow part starts. */
  (done: number, total: number): void;
}

/**
 * Re-encrypts the CA key and every stored key under a new passphrase. The bulk of the work
 * (one PBKDF2 per stored key, to decrypt it) runs before the write lock, so other pki
 * processes are not held up for minutes; inside the lock the key table is read again and
 * any key added or changed meanwhile is re-encrypted there, so none is left under the old
 * passphrase. Writers that unlocked the root before this commits are refused at their own
 * commit (CaCore.assertPassphraseCurrent). The new passphrase is derived once: every key
 * shares its salt, each has its own IV.
 */
export interface PassphraseChangeResult {
  /** Keys re-encrypted, the CA key included. */
  keys: number;
  /** Of those, stored by other pki commands while this one ran. */
  addedMeanwhile: number;
  /** Keys that did not open with the old passphrase either (stored under another one): left as they were. */
  unreadable: { name: string; serial: string }[];
}

export async function changePassphrase(core: CaCore, newPassphrase: NewPassphraseSource, onProgress?: PassphraseProgress): Promise<PassphraseChangeResult> {
  const root = await core.unlockRoot();
  const tooShort = `the new passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`;
  const unchanged = "the new passphrase is the same as the old one";
  const next = await newPassphrase((candidate) => (candidate.length < MIN_PASSPHRASE_LENGTH ? tooShort : candidate === root.passphrase ? unchanged : null));
  if (next.length < MIN_PASSPHRASE_LENGTH) throw new PkiError("secret", tooShort, undefined, "WEAK_PASSPHRASE");
  if (next === root.passphrase) throw new PkiError("usage", unchanged, undefined, "SAME_PASSPHRASE");
  const kek = await deriveKeyEncryptionKey(next);
  const oldKeys: KdfCache = new Map();
  // null: the key does not open with the old passphrase either, so nothing can be done with it here.
  const reencrypt = async (c: WithKey): Promise<Uint8Array | null> => {
    try {
      return await encryptPrivateKey(await core.decryptKey(c.keyEncrypted, root.passphrase, c, oldKeys), kek);
    } catch (e) {
      if (e instanceof PkiError && e.code === "KEY_UNREADABLE") return null;
      throw e;
    }
  };

  const snapshot = storedKeys(core);
  onProgress?.(0, snapshot.length);
  const prepared = new Map<string, { old: Uint8Array; next: Uint8Array | null }>();
  // Node runs PBKDF2 on its thread pool (4 threads): a few at a time uses every core.
  const CHUNK = 4;
  for (let i = 0; i < snapshot.length; i += CHUNK) {
    await Promise.all(snapshot.slice(i, i + CHUNK).map(async (c) => prepared.set(c.serial, { old: c.keyEncrypted, next: await reencrypt(c) })));
    onProgress?.(prepared.size, snapshot.length);
  }

  const now = core.now();
  return core.change(async (files) => {
    core.assertPassphraseCurrent(root);
    let addedMeanwhile = 0;
    const unreadable: PassphraseChangeResult["unreadable"] = [];
    const current = storedKeys(core);
    for (const c of current) {
      let replacement = prepared.get(c.serial);
      if (!replacement || Buffer.compare(replacement.old, c.keyEncrypted) !== 0) {
        addedMeanwhile++;
        replacement = { old: c.keyEncrypted, next: await reencrypt(c) };
      }
      if (replacement.next === null) {
        unreadable.push({ name: c.name, serial: c.serial });
        continue;
      }
      if (!core.ledger.replaceKey(c.serial, replacement.old, replacement.next)) {
        throw new PkiError("conflict", `${c.name}'s key (serial ${c.serial}) changed while re-encrypting`, "run the command again");
      }
      if (c.state === "active" && c.kind !== "root") files.stage(core.home.key(c.name), encryptedKeyPem(replacement.next), SECRET_MODE);
    }
    const keys = current.length - unreadable.length;
    core.ledger.appendEvent(core.event(now, "passphrase-changed", null, { keys, addedMeanwhile, unreadable: unreadable.map((u) => u.serial) }));
    return { keys, addedMeanwhile, unreadable };
  });
}

function storedKeys(core: CaCore): WithKey[] {
  return core.ledger.query({}).filter((c): c is WithKey => c.keyEncrypted !== null);
}
