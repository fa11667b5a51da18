// A second (third...) node of a CA whose ledger is in PostgreSQL: a new home that points at the
// database, without creating anything in it. The root key, settings and history are already
// there; what is per node is the home: `database`, `ca.pem`, `crl.pem`, `ledger.anchor`.
import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { toPem } from "../crypto/pem.js";
import { openLedger } from "../ledger/open.js";
import { describeDatabase, isDatabaseUrl, withoutPassword } from "../ledger/postgres/url.js";
import type { Ledger } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import { type AuthorityOptions, CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { crlHook } from "./hooks.js";
import { caBundlePem } from "./roots.js";
import { FileBatch, PUBLIC_MODE, SECRET_MODE } from "./home.js";

export interface JoinResult {
  database: string;
  root: { subject: string; serial: string };
  certificates: number;
  crlNumber: number | null;
  /** The shared ledger's CRL hook (null: none), and whether this node runs it (--accept-hooks). */
  hook: { command: string | null; kept: boolean };
}

/**
 * Makes `options.home` a node of the CA in `options.database`. The whole history is verified
 * with the CA's history key (so the passphrase, or the token, is needed) before the node
 * trusts it, and a "node-joined" event anchors it: from then on this home refuses a ledger
 * whose history was rewritten, as the first node does. Nothing is left on failure. Without
 * `acceptHooks` the node gets a hooks.off file: the shared CRL hook, now or set later on another
 * node, is not run here.
 */
export async function joinCluster(options: AuthorityOptions, ctx: Context, acceptHooks: boolean): Promise<JoinResult> {
  const { home, database } = options;
  if (database === undefined) {
    throw new PkiError("usage", "join needs the PostgreSQL ledger to join", "give it in PKI_DATABASE_URL or with --database postgres://USER@HOST/DB", "JOIN_NEEDS_DATABASE");
  }
  if (!isDatabaseUrl(database)) {
    throw new PkiError("usage", "the database URL must start with postgres:// or postgresql://", "e.g. PKI_DATABASE_URL=postgres://pki@db.internal/pki?sslmode=verify-full&sslrootcert=/etc/pki/db-ca.pem", "BAD_DATABASE_URL");
  }
  if (home.exists()) throw new PkiError("conflict", `${home.dir} already holds a CA`, "join into a new, empty --home", "HOME_NOT_EMPTY");
  // No `create`: a database without a pki ledger is LEDGER_CANT_OPEN, and nothing is made in it.
  const ledger: Ledger = await openLedger(database);
  const homeExisted = existsSync(home.dir);
  let created = false;
  try {
    const root = await ledger.read((r) => r.activeRoot());
    if (!root) throw new PkiError("not-found", `the PostgreSQL ledger ${describeDatabase(database)} holds no CA`, "create it first with: pki init-root (on one node)");
    const core = new CaCore(options, ledger, root);
    // Unlocked before anything is written, so a wrong passphrase leaves no home behind.
    await core.historyKey();
    home.create();
    created = true;
    const pointer = new FileBatch({ home: home.dir });
    pointer.stage(home.databasePointer, `${withoutPassword(database)}\n`, SECRET_MODE);
    // During a root rotation ca.pem holds every trusted root, as on the other nodes.
    const roots = await ledger.read((r) => r.roots());
    pointer.stage(home.caCertificate, roots.length > 1 ? caBundlePem(roots) : toPem(root.der, "CERTIFICATE"), PUBLIC_MODE);
    if (!acceptHooks) pointer.stage(home.hooksOff, "the CRL hook in the shared ledger is not run on this node; remove this file (or pki hook set crl CMD here) to run it\n", PUBLIC_MODE);
    await pointer.commit();
    // The home has no anchor yet: the whole history is verified with the key and anchored anew;
    // crl.pem is installed from the ledger's newest CRL after the commit (healCrl).
    const certificates = await core.change(ctx, async (tx) => {
      await tx.appendEvent(core.event(ctx, "node-joined", null, { home: home.dir, host: hostname() }));
      return tx.count({});
    }, { reanchor: true });
    const [crl, hook] = await ledger.read(async (r) => [await r.latestCrl(), await crlHook(r)] as const);
    return { database: withoutPassword(database), root: { subject: root.subject, serial: root.serial }, certificates, crlNumber: crl?.number ?? null, hook: { command: hook, kept: acceptHooks } };
  } catch (e) {
    if (created) removeHome(home.dir, homeExisted);
    throw e;
  } finally {
    await ledger.close();
  }
}

/** Takes back what a failed join wrote: the files it made, and the folders if it made them. */
function removeHome(dir: string, keepDir: boolean): void {
  for (const f of ["database", "ca.pem", "crl.pem", "ledger.anchor", "hooks.off"]) {
    rmSync(join(dir, f), { force: true });
  }
  for (const d of ["certs", "private", ...(keepDir ? [] : [""])]) {
    try {
      if (readdirSync(join(dir, d)).length === 0) rmdirSync(join(dir, d));
    } catch {
      /* not there or not empty */
    }
  }
}
