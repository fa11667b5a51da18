import { Keyring } from "../crypto/keyring.js";
import { encryptedKeyPem } from "../crypto/keys.js";
import { allPages, type Blob, type CertificateRecord, type LedgerReader } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { SECRET_MODE } from "./home.js";
import { storedKeyIs } from "./records.js";
import { passphraseProblem } from "./secret-strength.js";
import { PASSPHRASE_CHECK, passphraseWitness } from "./root-key.js";

type WithKey = CertificateRecord & { keyEncrypted: Blob };

/** What `changePassphrase` asks of its caller: the new passphrase, checked with `problem` (a prompt asks again while it objects). */
export type NewPassphraseSource = (problem: (candidate: string) => string | null) => Promise<string>;

export interface PassphraseProgress {
  /** Keys re-encrypted so far, of `total`; first called with 0 before the slow part starts. */
  (done: number, total: number): void;
}

export interface PassphraseChangeResult {
  /** Keys re-encrypted, the CA key included. */
  keys: number;
  /** Of those, stored by other pki commands while this one ran. */
  addedMeanwhile: number;
  /** Keys that did not open with the old passphrase either (stored under another one): left as they were. */
  unreadable: { name: string; serial: string }[];
}

/**
 * Re-encrypts the CA key and every stored key under a new passphrase, in one transaction:
 * afterwards every key opens with the new passphrase, or (on any failure) all still open with
 * the old one. The bulk of the work runs before the write lock, so other pki processes are not
 * held up; inside the lock the key table is read again and any key added or changed meanwhile
 * is re-encrypted there, so none is left under the old passphrase. Writers that verified the
 * passphrase before this commits are refused at their own commit (CaCore.assertPassphraseCurrent).
 * The new passphrase key is derived once, the old one once per salt (once in all for keys pki
 * sealed itself).
 */
export async function changePassphrase(core: CaCore, ctx: Context, newPassphrase: NewPassphraseSource, onProgress?: PassphraseProgress): Promise<PassphraseChangeResult> {
  await core.verifyPassphrase();
  const old = await (await core.keyring()).passphrase();
  const weak = (candidate: string) => {
    const problem = passphraseProblem(candidate);
    return problem && `the new passphrase ${problem}`;
  };
  const unchanged = "the new passphrase is the same as the old one";
  const next = await newPassphrase((candidate) => weak(candidate) ?? (candidate === old ? unchanged : null));
  const problem = weak(next);
  if (problem) throw new PkiError("secret", problem, undefined, "WEAK_PASSPHRASE");
  if (next === old) throw new PkiError("usage", unchanged, undefined, "SAME_PASSPHRASE");
  const nextKeyring = new Keyring(async () => next, true);
  // null: the key does not open with the old passphrase either, so nothing can be done with it here.
  const reencrypt = async (c: WithKey): Promise<Uint8Array | null> => {
    try {
      return await nextKeyring.seal(await core.unsealKey(c.keyEncrypted, c));
    } catch (e) {
      if (e instanceof PkiError && e.code === "KEY_UNREADABLE") return null;
      throw e;
    }
  };

  const snapshot = await core.ledger.read((r) => storedKeys(r));
  onProgress?.(0, snapshot.length);
  const prepared = new Map<string, { old: Uint8Array; next: Uint8Array | null }>();
  // Keys under another salt each need a PBKDF2 run, on Node's thread pool (4 threads): a few at a time uses every core.
  const CHUNK = 4;
  for (let i = 0; i < snapshot.length; i += CHUNK) {
    await Promise.all(snapshot.slice(i, i + CHUNK).map(async (c) => prepared.set(c.serial, { old: c.keyEncrypted, next: await reencrypt(c) })));
    onProgress?.(prepared.size, snapshot.length);
  }

  return core.change(ctx, async (tx, files) => {
    await core.assertPassphraseCurrent(tx);
    let addedMeanwhile = 0;
    const unreadable: PassphraseChangeResult["unreadable"] = [];
    const current = await storedKeys(tx);
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
      if (!(await tx.replaceKey(c.serial, replacement.old, replacement.next))) {
        throw new PkiError("conflict", `${c.name}'s key (serial ${c.serial}) changed while re-encrypting`, "run the command again");
      }
      if (c.state === "active" && c.kind !== "root") files.stage(core.home.key(c.name), encryptedKeyPem(replacement.next), SECRET_MODE, storedKeyIs(c.serial, replacement.next));
    }
    // A root in a PKCS#11 token has no key here: its passphrase check moves to the new passphrase.
    const root = await tx.activeRoot();
    if (root && !root.keyEncrypted) {
      const check = await nextKeyring.seal(await core.unsealKey(await passphraseWitness(tx, root)));
      await tx.setSetting(PASSPHRASE_CHECK, Buffer.from(check).toString("base64"));
    }
    const keys = current.length - unreadable.length;
    await tx.appendEvent(core.event(ctx, "passphrase-changed", null, { keys, addedMeanwhile, unreadable: unreadable.map((u) => u.serial) }));
    return { keys, addedMeanwhile, unreadable };
  });
}

async function storedKeys(r: LedgerReader): Promise<WithKey[]> {
  const out: WithKey[] = [];
  for await (const c of allPages((page) => r.certificates({ withKey: true }, page))) out.push(c as WithKey);
  return out;
}
