import type { KeyType } from "../crypto/keys.js";
import type { ExtensionsSpec } from "../crypto/extensions.js";
import { encodeName, type EncodedName, LeafTemplate } from "../crypto/leaf-template.js";
import { KeyPool } from "../crypto/key-pool.js";
import type { SealedKey } from "../crypto/key-batch.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { syncFileSystem } from "./home.js";
import { checkLeafProfile, leafNotAfter, withAltNames } from "./issuance.js";
import { usagesForKey } from "./key-usage.js";
import { claimName } from "./name-claims.js";
import { nameKey, validateName } from "./names.js";
import { profilePath, profileReader } from "./profiles.js";
import { type LeafKind, type LeafRequest, signLeaves } from "./sign-leaves.js";

/** One line of a bulk list: a client's name, or a server's name with its hosts. */
export interface BatchEntry {
  name: string;
  /** What profiles see as $ENV::PKI_NAME when it is not `name` (an IPv6 server's address). */
  profileName?: string;
  /** Server certificates: DNS names and IP addresses. */
  altNames?: { type: "dns" | "ip"; value: string }[];
}

export interface BatchParams {
  /** Names (clients), or entries (servers with their hosts). */
  names: readonly (string | BatchEntry)[];
  /** Default "client". */
  kind?: LeafKind;
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
 * Issues many certificates in one process: names and each name's expansion of the profile are
 * all checked before anything is issued (a bad or taken name refuses the whole batch), then
 * each chunk is one transaction on the same path as single issuance (signLeaves, with its
 * events), signed from a DER template. Keys are generated and sealed on worker threads, one
 * per core, under the passphrase key derived once, while the main thread signs and records the
 * chunk before. Files are written on the thread pool and flushed with one syncfs at the end, not
 * an fsync per file (where `sync --file-system` is missing, an fsync per file), so everything is
 * on disk when this returns.
 */
export async function issueBatch(core: CaCore, ctx: Context, p: BatchParams): Promise<BatchResult> {
  const started = performance.now();
  const now = ctx.now;
  const kind = p.kind ?? "client";
  const entries = p.names.map((e, i): BatchEntry => {
    const entry = typeof e === "string" ? { name: e } : e;
    try {
      return { ...entry, name: validateName(entry.name) };
    } catch (err) {
      throw new PkiError("usage", `line ${i + 1}: ${(err as Error).message}`);
    }
  });
  const seen = new Map<string, number>();
  await core.ledger.read(async (r) => {
    for (const [i, { name: n }] of entries.entries()) {
      const key = nameKey(n);
      const first = seen.get(key);
      if (first !== undefined) {
        const same = entries[first]!.name === n ? `"${shown(n)}" appears twice` : `"${shown(n)}" is the same name as "${shown(entries[first]!.name)}"`;
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
  seen.clear();
  const keyType = p.keyType ?? "ec-p256";
  const notAfter = leafNotAfter(core, now, p.days);
  // Every name's expansion of the profile is checked before anything is signed, and expanded
  // again per chunk: keeping 100,000 expansions would cost more memory than parsing twice costs time.
  const expand = profileReader(profilePath(core.options.templatesDir, p.profile ?? kind));
  const prepare = (e: BatchEntry): { subject: EncodedName; extensions: ExtensionsSpec } => {
    const profile = expand({ PKI_NAME: e.profileName ?? e.name });
    const extensions = withAltNames(profile.extensions, e.altNames ?? []);
    checkLeafProfile(profile, extensions);
    return { subject: encodeName(profile.subject), extensions: usagesForKey(extensions, keyType) };
  };
  for (const e of entries) prepare(e);
  const signer = await core.rootSigner();
  const seal = await core.sealParameters();
  const template = new LeafTemplate(signer);
  const chunkSize = p.chunkSize ?? 500;
  // One syncfs at the end needs coreutils' sync (BusyBox and macOS have no --file-system):
  // tried first, with nothing committed yet, so without it every file is fsynced as written.
  const flushAtEnd = await syncFileSystem(core.home.dir).then(() => true, () => false);
  const pool = new KeyPool();
  const keysFor = (start: number) => {
    const keys = pool.generate(keyType, Math.min(chunkSize, entries.length - start), seal);
    keys.catch(() => {}); // awaited when its chunk comes; a failure meanwhile is not unhandled
    return keys;
  };
  let issued = 0;
  let firstSerial: string | null = null;
  let lastSerial: string | null = null;
  try {
    let next: Promise<SealedKey[]> = keysFor(0);
    for (let start = 0; start < entries.length; start += chunkSize) {
      const keys = await next;
      // The workers make the next chunk's keys while this one is signed and recorded.
      if (start + chunkSize < entries.length) next = keysFor(start + chunkSize);
      const requests = keys.map((key, i): LeafRequest => {
        const e = prepare(entries[start + i]!);
        return {
          name: entries[start + i]!.name, kind, extensions: e.extensions, encoded: { subject: e.subject, spki: key.spki },
          keyPkcs8: null, keyEncrypted: key.sealed, csrDer: null, notAfter, action: "issued", batch: true,
        };
      });
      const { leaves } = await signLeaves(core, ctx, signer, requests, { durable: !flushAtEnd, background: true, template });
      firstSerial ??= leaves[0]?.record.serial ?? null;
      lastSerial = leaves[leaves.length - 1]?.record.serial ?? lastSerial;
      issued += requests.length;
      p.onProgress?.(issued, entries.length);
    }
  } catch (e) {
    // The chunks committed before the failure keep their files.
    if (issued > 0 && flushAtEnd) await syncFileSystem(core.home.dir).catch(() => {});
    throw e;
  } finally {
    await pool.close();
  }
  // One flush for every file of the batch (the ledger's commits are flushed by the database);
  // a crash before it loses only files that pki check --repair writes again from the ledger.
  if (flushAtEnd) await syncFileSystem(core.home.dir);
  return { issued, firstSerial, lastSerial, seconds: (performance.now() - started) / 1000 };
}
