import type { KeyType } from "../crypto/keys.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { checkLeafProfile, leafNotAfter } from "./issuance.js";
import { usagesForKey } from "./key-usage.js";
import { claimName } from "./name-claims.js";
import { nameKey, validateName } from "./names.js";
import { loadProfile, profilePath } from "./profiles.js";
import { type LeafRequest, newKey, signLeaves } from "./sign-leaves.js";

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
 * issued (a bad or taken name refuses the whole batch), then each chunk is one transaction on
 * the same path as single issuance (signLeaves). The passphrase key is derived once for the
 * whole batch (see Keyring); RSA keys generate on Node's thread pool.
 */
export async function issueBatch(core: CaCore, ctx: Context, p: BatchParams): Promise<BatchResult> {
  const started = performance.now();
  const now = ctx.now;
  const names = p.names.map((n, i) => {
    try {
      return validateName(n);
    } catch (e) {
      throw new PkiError("usage", `line ${i + 1}: ${(e as Error).message}`);
    }
  });
  const seen = new Map<string, number>();
  await core.ledger.read(async (r) => {
    for (const [i, n] of names.entries()) {
      const key = nameKey(n);
      const first = seen.get(key);
      if (first !== undefined) {
        const same = names[first] === n ? `"${shown(n)}" appears twice` : `"${shown(n)}" is the same name as "${shown(names[first]!)}"`;
        throw new PkiError("usage", `line ${i + 1}: ${same} (line ${first + 1})`, undefined, "DUPLICATE_NAME");
      }
      seen.set(key, i);
      try {
        await claimName(r, n, now);
      } catch (e) {
        if (e instanceof PkiError) throw new PkiError(e.kind, `line ${i + 1}: ${e.message}`, "remove it from the list, or renew it with pki renew", e.code);
        throw e;
      }
    }
  });
  const keyType = p.keyType ?? "ec-p256";
  const notAfter = leafNotAfter(core, now, p.days);
  const profileFile = profilePath(core.options.templatesDir, p.profile ?? "client");
  // Every name's expansion of the profile is checked before anything is signed (and loaded
  // again per chunk, so memory stays flat however long the list).
  const profileOf = (name: string) => {
    const profile = loadProfile(profileFile, { PKI_NAME: name });
    checkLeafProfile(profile, profile.extensions);
    return profile;
  };
  for (const name of names) profileOf(name);
  const signer = await core.rootSigner();
  const chunkSize = p.chunkSize ?? 500;
  let issued = 0;
  let firstSerial: string | null = null;
  let lastSerial: string | null = null;
  for (let start = 0; start < names.length; start += chunkSize) {
    // Keys first, outside the write lock: this is where the time goes.
    const requests = await Promise.all(
      names.slice(start, start + chunkSize).map(async (name): Promise<LeafRequest> => {
        const profile = profileOf(name);
        const key = await newKey(keyType);
        return {
          name, kind: "client", subject: profile.subject, extensions: usagesForKey(profile.extensions, keyType), publicKey: key.publicKey,
          keyPkcs8: key.pkcs8, keyEncrypted: await core.sealKey(key.pkcs8), csrDer: null, notAfter, action: "issued", batch: true,
        };
      }),
    );
    const { leaves } = await signLeaves(core, ctx, signer, requests, { durable: false });
    firstSerial ??= leaves[0]?.record.serial ?? null;
    lastSerial = leaves[leaves.length - 1]?.record.serial ?? lastSerial;
    issued += requests.length;
    p.onProgress?.(issued, names.length);
  }
  return { issued, firstSerial, lastSerial, seconds: (performance.now() - started) / 1000 };
}
