// Checks of what a passphrase or an export file holds: stored keys that the CA passphrase no
// longer opens, and exported identities in the home that no longer hold the current certificate.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { CryptoError } from "../crypto/errors.js";
import { Keyring } from "../crypto/keyring.js";
import { pkcs12LocalKeyIds } from "../crypto/pkcs12.js";
import { type Blob, type CertificateRecord, collect } from "../ledger/ledger.js";
import type { Finding } from "./check.js";
import type { CaCore } from "./core.js";
import { passphraseWitness } from "./root-key.js";
import { shellQuote } from "./shell-quote.js";
import { statusOf } from "./views.js";

/**
 * Opens every stored key of a current certificate with `passphrase` (the CA key first): a key
 * stored under another passphrase cannot be exported, renewed with --reuse-key or used by
 * doctor. Without a passphrase nothing is opened and the finding says so.
 */
export async function checkStoredKeys(core: CaCore, passphrase: string | undefined): Promise<Finding[]> {
  if (passphrase === undefined) {
    return [{ check: "keys", level: "ok", message: "stored keys not opened: no passphrase given (PKI_PASSPHRASE or --passphrase-file lets check prove that each opens)" }];
  }
  // A keyring of its own: keys that share a salt share one derivation.
  const keyring = new Keyring(async () => passphrase);
  const root = (await core.ledger.read((r) => r.activeRoot())) ?? core.root;
  try {
    await keyring.unseal(await core.ledger.read((r) => passphraseWitness(r, root)));
  } catch (e) {
    if (!(e instanceof CryptoError && e.code === "bad-passphrase")) throw e;
    return [{ check: "keys", level: "error", message: "the passphrase given does not open the CA key, so no stored key was checked", fix: "check PKI_PASSPHRASE or --passphrase-file" }];
  }
  const active = await core.ledger.read((r) => collect((page) => r.certificates({ state: "active", withKey: true }, page)));
  const keys = active.filter((c): c is CertificateRecord & { keyEncrypted: Blob } => c.kind !== "root" && c.keyEncrypted !== null);
  const findings: Finding[] = [];
  // Node runs PBKDF2 on its thread pool (4 threads).
  const CHUNK = 4;
  for (let i = 0; i < keys.length; i += CHUNK) {
    await Promise.all(
      keys.slice(i, i + CHUNK).map(async (c) => {
        try {
          await keyring.unseal(c.keyEncrypted);
        } catch (e) {
          if (!(e instanceof CryptoError && e.code === "bad-passphrase")) throw e;
          findings.push({
            check: "keys",
            level: "error",
            message: `${c.name}'s key (serial ${c.serial}) does not open with the CA passphrase: it was stored under another one`,
            fix: `give it a new key: pki renew ${shellQuote(c.name)} (the stored one opens only with the passphrase it was stored under, e.g. openssl pkey -in ${shellQuote(core.home.key(c.name))})`,
          });
        }
      }),
    );
  }
  await keyring.lock();
  if (findings.length === 0) findings.push({ check: "keys", level: "ok", message: `the CA key and the ${keys.length} stored ${keys.length === 1 ? "key" : "keys"} of current certificates open with the CA passphrase` });
  return findings;
}

/**
 * Export files pki writes into the home (private/NAME.p12, private/NAME.mobileconfig) that no
 * longer hold NAME's current, valid certificate: after a revoke or a renew they are traps for
 * whoever mails them. --repair leaves them alone: pki cannot rewrite them without their
 * password, and deleting a user's file is not its call; the finding says what to do.
 */
export async function checkExports(core: CaCore, now: Date): Promise<Finding[]> {
  const dir = join(core.home.dir, "private");
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^[^.].*\.(p12|mobileconfig)$/.test(f)) : [];
  const findings: Finding[] = [];
  for (const file of files) {
    const path = join(dir, file);
    const ext = extname(file);
    const name = basename(file, ext);
    const command = ext === ".p12" ? "export-p12" : "export-mobileconfig";
    const candidates = await core.ledger.read((r) => collect((page) => r.certificates({ name }, page)));
    const held = ext === ".p12" ? heldByPkcs12(readFileSync(path), candidates) : heldByMobileconfig(readFileSync(path, "utf8"), candidates);
    const current = candidates.find((c) => c.kind !== "root" && c.state === "active" && statusOf(c, now) === "valid");
    if (held && current && held.serial === current.serial) continue;
    const again = current ? `export it again: pki ${command} ${shellQuote(name)} (overwrites it)` : `${name} has no valid certificate: delete it (rm ${shellQuote(path)}), or pki renew ${shellQuote(name)} and export again`;
    const message = !held
      ? `${path} holds no certificate of "${name}" that the ledger knows`
      : `${path} holds serial ${held.serial} of "${name}", which is ${describe(held, now)}, not its current certificate`;
    findings.push({ check: "exports", level: "warning", message, fix: `${again}; check --repair leaves export files alone` });
  }
  if (findings.length === 0) findings.push({ check: "exports", level: "ok", message: `${files.length} export ${files.length === 1 ? "file holds its" : "files hold their"} name's current certificate` });
  return findings;
}

function describe(rec: CertificateRecord, now: Date): string {
  const status = statusOf(rec, now);
  return status === "superseded" ? `superseded by ${rec.supersededBy}` : status;
}

function heldByPkcs12(der: Uint8Array, candidates: CertificateRecord[]): CertificateRecord | undefined {
  const ids = (pkcs12LocalKeyIds(der) ?? []).map((id) => Buffer.from(id).toString("hex"));
  return candidates.find((c) => ids.includes(createHash("sha1").update(c.der).digest("hex")));
}

function heldByMobileconfig(plist: string, candidates: CertificateRecord[]): CertificateRecord | undefined {
  // pki names the identity payload pki.ROOTSERIAL.SERIAL.identity (see mobileconfig.ts).
  const serial = /<string>pki\.[0-9a-f]+\.([0-9a-f]+)\.identity<\/string>/.exec(plist)?.[1];
  return candidates.find((c) => c.serial === serial);
}
