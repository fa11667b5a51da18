import { Keyring } from "../crypto/keyring.js";
import { encryptedKeyPem } from "../crypto/keys.js";
import { allPages } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { SECRET_MODE } from "./home.js";
import { MIN_PASSPHRASE_LENGTH } from "./init.js";

/**
 * Re-encrypts the CA key and every stored key under a new passphrase, in one transaction:
 * afterwards every key opens with the new passphrase, or (on any failure) all still open
 * with the old one. The slow work happens before the write lock is taken: the new passphrase
 * key is derived once, and the old one once per salt (once in all for keys pki sealed itself).
 */
export async function changePassphrase(core: CaCore, ctx: Context, newPassphrase: () => Promise<string>, onProgress?: (done: number, total: number) => void): Promise<{ keys: number }> {
  await core.unsealKey(core.root.keyEncrypted!);
  const next = await newPassphrase();
  if (next.length < MIN_PASSPHRASE_LENGTH) throw new PkiError("secret", `the new passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
  if (next === (await (await core.keyring()).passphrase())) throw new PkiError("usage", "the new passphrase is the same as the old one");
  const withKeys = await core.ledger.read(async (r) => {
    const out: { serial: string; name: string; kind: string; state: string; keyEncrypted: Uint8Array | null }[] = [];
    for await (const c of allPages((page) => r.certificates({ withKey: true }, page))) out.push({ serial: c.serial, name: c.name, kind: c.kind, state: c.state, keyEncrypted: c.keyEncrypted });
    return out;
  });
  const nextKeyring = new Keyring(async () => next, true);
  const replaced: { serial: string; name: string; active: boolean; old: Uint8Array; next: Uint8Array }[] = [];
  // Keys under another salt each need a PBKDF2 run, on Node's thread pool (4 threads): a few at a time uses every core.
  const CHUNK = 4;
  for (let i = 0; i < withKeys.length; i += CHUNK) {
    const batch = withKeys.slice(i, i + CHUNK);
    const done = await Promise.all(
      batch.map(async (c) => {
        const plain = await core.unsealKey(c.keyEncrypted!);
        return { serial: c.serial, name: c.name, active: c.state === "active" && c.kind !== "root", old: c.keyEncrypted!, next: await nextKeyring.seal(plain) };
      }),
    );
    replaced.push(...done);
    onProgress?.(replaced.length, withKeys.length);
  }
  await core.change(ctx, async (tx, files) => {
    for (const r of replaced) {
      if (!(await tx.replaceKey(r.serial, r.old, r.next))) {
        throw new PkiError("conflict", `the key of ${r.serial} changed while re-encrypting (another pki process?)`, "run the command again");
      }
      if (r.active) files.stage(core.home.key(r.name), encryptedKeyPem(r.next), SECRET_MODE);
    }
    await tx.appendEvent(core.event(ctx, "passphrase-changed", null, { keys: replaced.length }));
  });
  return { keys: replaced.length };
}
