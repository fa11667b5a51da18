import { chmodSync, existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { LedgerError } from "../ledger/errors.js";
import { openLedger } from "../ledger/open.js";
import type { Context } from "./context.js";
import { checkHome, type Finding } from "./check.js";
import { type AuthorityOptions, CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { fileError, SECRET_MODE } from "./home.js";
import { fingerprint } from "./records.js";

/**
 * Writes an online, consistent copy of the ledger to `file` with SQLite's backup API
 * (a plain file copy of a live WAL database can miss committed pages). The ledger is the
 * whole CA: outputs are derived from it on restore. Keys inside stay encrypted.
 */
export interface BackupResult {
  file: string;
  sha256: string;
  certificates: number;
  /** False when the home is read-only: the copy is made, but the event log cannot say so. */
  recorded: boolean;
}

export async function backup(core: CaCore, ctx: Context, file: string, onProgress?: (done: number, total: number) => void): Promise<BackupResult> {
  if (existsSync(file)) throw new PkiError("conflict", `${file} already exists`, "pki never overwrites a backup; choose a new file name");
  if (!existsSync(dirname(file))) throw new PkiError("not-found", `${dirname(file)}: no such directory`);
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${randomBytes(6).toString("hex")}`);
  let certificates: number;
  try {
    ({ certificates } = await core.ledger.backupTo(tmp, onProgress));
    chmodSync(tmp, SECRET_MODE);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof PkiError || e instanceof LedgerError) throw e;
    throw fileError(file, e);
  }
  const sha256 = fingerprint(readFileSync(file));
  let recorded = true;
  try {
    await core.ledger.write((tx) => tx.appendEvent(core.event(ctx, "backed-up", null, { file, sha256 })).then(() => undefined));
  } catch (e) {
    if (!(e instanceof LedgerError && (e.code === "read-only" || e.code === "permission"))) throw e;
    recorded = false;
  }
  return { file, sha256, certificates, recorded };
}

/**
 * Restores a backup into an empty home: validates it (SQLite, pki schema, integrity, a
 * root), copies it in with the backup API, then rewrites every output file from it.
 */
export async function restore(options: AuthorityOptions, ctx: Context, file: string, onProgress?: (done: number, total: number) => void): Promise<{ findings: Finding[]; certificates: number }> {
  const { home } = options;
  if (home.exists()) throw new PkiError("conflict", `a CA already exists in ${home.dir}`, "restore into a new, empty --home");
  if (!existsSync(file)) throw new PkiError("not-found", `${file}: no such file`);
  const source = await openLedger(file);
  try {
    const problems = await source.integrityProblems();
    if (problems.length) throw new PkiError("invalid", `${file} fails SQLite's integrity check: ${problems[0]}`);
    if (!(await source.read((r) => r.activeRoot()))) throw new PkiError("invalid", `${file} holds no root CA`);
    home.create();
    const tmp = join(home.dir, `.ledger.db.tmp-${randomBytes(6).toString("hex")}`);
    try {
      await source.backupTo(tmp, onProgress);
      chmodSync(tmp, SECRET_MODE);
      renameSync(tmp, home.ledger);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  } finally {
    await source.close();
  }
  const ledger = await openLedger(home.ledger);
  try {
    const core = new CaCore(options, ledger, (await ledger.read((r) => r.activeRoot()))!);
    const certificates = await ledger.write(async (tx) => {
      await tx.appendEvent(core.event(ctx, "restored", null, { from: file }));
      return tx.count({});
    });
    const findings = await checkHome(core, ctx, true);
    return { findings, certificates };
  } finally {
    await ledger.close();
  }
}
