import { promises as fsp } from "node:fs";
import { accessSync, closeSync, constants, type Stats, existsSync, fchmodSync, fchownSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync, chmodSync } from "node:fs";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { LedgerReader } from "../ledger/ledger.js";
import { crashPoint } from "./crash-point.js";
import { PkiError, shown } from "./errors.js";
import { toolEnvironment } from "./trust/tools.js";

/** Directory mode for the home and everything below it: only the owner may list or enter. */
export const DIR_MODE = 0o700;
/** Mode for private keys and PKCS#12 files. */
export const SECRET_MODE = 0o600;
/** Mode for certificates and CRLs: public data that servers running as other users must read. */
export const PUBLIC_MODE = 0o644;

/** Where a CA home keeps its ledger and the files it writes for servers and clients. */
export class Home {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }
  get ledger(): string {
    return join(this.dir, "ledger.db");
  }
  /** With a PostgreSQL ledger: its URL without the password, written by init-root (see ledger-location.ts). */
  get databasePointer(): string {
    return join(this.dir, "database");
  }
  /** The root certificate, for nginx `ssl_client_certificate`. */
  get caCertificate(): string {
    return join(this.dir, "ca.pem");
  }
  /**
   * Present on a node that joined without --accept-hooks: the CRL hook in the shared ledger is
   * a command written on another machine, so this node does not run it until it opts in.
   */
  get hooksOff(): string {
    return join(this.dir, "hooks.off");
  }
  /** The current CRL, for nginx `ssl_crl`. */
  get crl(): string {
    return join(this.dir, "crl.pem");
  }
  certificate(name: string): string {
    return join(this.dir, "certs", `${safeFileName(name)}.pem`);
  }
  key(name: string): string {
    return join(this.dir, "private", `${safeFileName(name)}.key`);
  }
  pkcs12(name: string): string {
    return join(this.dir, "private", `${safeFileName(name)}.p12`);
  }
  mobileconfig(name: string): string {
    return join(this.dir, "private", `${safeFileName(name)}.mobileconfig`);
  }
  exists(): boolean {
    return existsSync(this.ledger) || existsSync(this.databasePointer);
  }
  /** Creates the home and its folders, owner-only; refuses a folder inside it that is a symbolic link. */
  create(): void {
    for (const d of [this.dir, join(this.dir, "certs"), join(this.dir, "private")]) {
      if (d !== this.dir) refuseLinksInside(this.dir, d);
      try {
        mkdirSync(d, { recursive: true, mode: DIR_MODE });
        // The home itself may be a link an administrator made (/etc/pki -> /srv/pki); what is inside it may not.
        if (d === this.dir || !lstatSync(d).isSymbolicLink()) chmodSync(d, DIR_MODE);
      } catch (e) {
        throw fileError(d, e);
      }
    }
  }
}

/**
 * A certificate name as the last part of a file name, checked where the file is written:
 * names come from ledger rows, which someone with write access to ledger.db (or a backup)
 * may have set to `../../elsewhere/x`.
 */
export function safeFileName(name: string): string {
  if (name === "" || name === "." || name === ".." || /[/\\\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw new PkiError("invalid", `the ledger names a certificate "${shown(name)}", which is not a safe file name; nothing was written for it`, "the ledger was altered outside pki: run pki audit --verify and restore a good backup", "UNSAFE_NAME");
  }
  return name;
}

/**
 * Refuses `path` when it or a folder between `home` and it is a symbolic link: through one,
 * a key would be written (and a mode changed) wherever the link points. Paths outside the
 * home are the operator's (--out) and only their last part is checked, by stage().
 */
export function refuseLinksInside(home: string, path: string): void {
  const rel = relative(home, path);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return;
  let p = home;
  for (const part of rel.split(sep)) {
    p = join(p, part);
    let link: boolean;
    try {
      link = lstatSync(p).isSymbolicLink();
    } catch {
      return; // missing: nothing to follow
    }
    if (link) throw symlinkError(p);
  }
}

function symlinkError(path: string): PkiError {
  return new PkiError("storage", `${path} is a symbolic link; pki does not write through links`, "replace it with a real file or folder (pki check lists links in the home), or name the real path", "SYMLINK_REFUSED");
}

/** Who owns a written file and its mode, as asked with --owner, --group and --mode. */
export interface FileAccess {
  uid?: number;
  gid?: number;
  mode?: number;
  /** Over an existing file, keep its owner, group and mode where none was asked for (a re-export must not lock a server out). */
  keepExisting?: boolean;
}

interface Staged {
  tmp: string;
  path: string;
  /** Checked just before the rename, against the ledger as it is then; false means a newer version was written meanwhile. */
  current?: (r: LedgerReader) => Promise<boolean>;
}

/**
 * Files written all together or not at all. `stage` writes and fsyncs a temporary file
 * beside the target; `commit` renames each into place (rename is atomic on POSIX, so a
 * reader or a crash sees the old file or the new one, never half of one).
 *
 * The authority stages files, commits its ledger transaction, then commits the files:
 * a crash in between leaves the ledger right and at most stale outputs plus `.tmp-` files,
 * never a certificate on disk that the ledger does not know.
 */
export class FileBatch {
  private readonly staged: Staged[] = [];
  /** Folders already checked for links and write access in this batch. */
  private readonly checkedDirs = new Set<string>();
  /** Writes still running on the thread pool (`background`). */
  private readonly pending: Promise<void>[] = [];

  /**
   * `durable: false` skips the per-file fsync (bulk issuance writes thousands of files, then
   * flushes them all at once with syncFileSystem; the ledger, fsynced by SQLite, stays the
   * source of truth and `pki check --repair` rewrites any output a power cut lost). Renames
   * stay atomic either way. `home`: paths inside it are refused when a folder on the way is a
   * symbolic link. `background`: files are written on Node's thread pool while the caller goes
   * on (bulk issuance: creating a file costs 0.2-0.5 ms here); call `ready` before relying on them.
   */
  constructor(private readonly options: { durable?: boolean; home?: string; background?: boolean } = {}) {}

  /**
   * Writes `data` beside `path`; the folder must exist (we never create folders outside the home).
   * `mode` is the default; `access` may set owner, group and mode, applied to the temporary file
   * before it gets its name, so the file never appears with the wrong ones.
   */
  stage(path: string, data: string | Uint8Array, mode: number, current?: (r: LedgerReader) => Promise<boolean>, access: FileAccess = {}): void {
    if (mode === SECRET_MODE && access.mode !== undefined && (access.mode & 0o007) !== 0) {
      throw new PkiError("usage", `--mode ${access.mode.toString(8).padStart(4, "0")} would let every user read ${path}, which holds a private key`, "use 0600 or 0640 with --group", "MODE_TOO_OPEN");
    }
    // Hidden, and not ending in .pem/.key, so no glob or server picks up a half-made file.
    const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString("hex")}`);
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    // Synchronous in the background too: a promise's lstat of a missing file costs 0.1 ms of CPU (the error it makes), 15 times this.
    const w = writePlan(mode, access, this.writable(path));
    if (this.options.background) {
      // Staged now, so the renames keep the order of the calls.
      this.staged.push({ tmp, path, ...(current ? { current } : {}) });
      const write = (async () => {
        let file: fsp.FileHandle | undefined;
        try {
          file = await fsp.open(tmp, CREATE_FLAGS, SECRET_MODE);
          await file.writeFile(buf);
          if (w.uid !== undefined || w.gid !== undefined) await file.chown(w.uid ?? -1, w.gid ?? -1);
          await file.chmod(w.mode);
          if (this.options.durable !== false) await file.sync();
        } catch (e) {
          throw writeError(path, e, w);
        } finally {
          await file?.close();
        }
      })();
      write.catch(() => {}); // reported by ready()
      this.pending.push(write);
      return;
    }
    let fd: number | undefined;
    try {
      // O_EXCL never follows a link at tmp; created owner-only, the content is never readable by others before chmod.
      fd = openSync(tmp, CREATE_FLAGS, SECRET_MODE);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      if (w.uid !== undefined || w.gid !== undefined) fchownSync(fd, w.uid ?? -1, w.gid ?? -1);
      fchmodSync(fd, w.mode);
      if (this.options.durable !== false) fsyncSync(fd);
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        /* it may never have been created */
      }
      this.abort();
      throw writeError(path, e, w);
    }
    closeSync(fd);
    this.staged.push({ tmp, path, ...(current ? { current } : {}) });
  }

  /** Waits for the background writes; when one failed, removes every staged file and throws its error. */
  async ready(): Promise<void> {
    const results = await Promise.allSettled(this.pending.splice(0));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      this.abort();
      throw failed.reason;
    }
  }

  /** Refuses a path reached through a link (see stage), or in a folder this process cannot write, before anything is written; returns what is there now. */
  writable(path: string): Stats | undefined {
    this.checkDir(path);
    const target = existing(path);
    if (target?.isSymbolicLink()) throw symlinkError(path);
    return target;
  }

  /** The folder of `path`: no link on the way inside the home, writable; once per folder and batch. */
  private checkDir(path: string): void {
    const dir = dirname(path);
    if (this.checkedDirs.has(dir)) return;
    if (this.options.home) refuseLinksInside(this.options.home, dir);
    try {
      accessSync(dir, constants.W_OK);
    } catch (e) {
      throw fileError(path, e);
    }
    this.checkedDirs.add(dir);
  }

  /**
   * Renames the staged files into place; returns the paths it installed (overtaken ones are
   * dropped). `ledger`, read under the write lock, answers the staged files' `current` checks;
   * `unchanged`, when it answers true (nothing committed since the change that staged them),
   * answers them all at once.
   */
  async commit(ledger?: LedgerReader, unchanged?: (r: LedgerReader) => Promise<boolean>): Promise<string[]> {
    await this.ready();
    const dirs = new Set<string>();
    const installed: string[] = [];
    const check = ledger && !(unchanged && (await unchanged(ledger)));
    for (const s of this.staged) {
      if (s.current && check && !(await s.current(ledger))) {
        unlinkSync(s.tmp);
        continue;
      }
      renameSync(s.tmp, s.path);
      installed.push(s.path);
      crashPoint("mid-rename");
      dirs.add(dirname(s.path));
    }
    for (const d of dirs) {
      // fsync the directory so the rename itself survives a power cut.
      const fd = openSync(d, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.staged.length = 0;
    return installed;
  }

  /** abort(), once no background write is still running (one finishing later would leave its file). */
  async discard(): Promise<void> {
    await Promise.allSettled(this.pending.splice(0));
    this.abort();
  }

  abort(): void {
    for (const s of this.staged) {
      try {
        unlinkSync(s.tmp);
      } catch {
        /* already gone */
      }
    }
    this.staged.length = 0;
  }
}

/**
 * Flushes everything written to the file system holding `dir` (syncfs(2), through coreutils'
 * `sync --file-system`, as Node has no binding): one flush for thousands of files that
 * FileBatch wrote with `durable: false`.
 */
export function syncFileSystem(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("sync", ["--file-system", dir], { env: toolEnvironment() }, (e) => {
      if (e) reject(new PkiError("storage", `the new files in ${dir} could not be flushed to disk (sync --file-system: ${e.message.split("\n")[0]})`, "run: sync; then pki check"));
      else resolve();
    });
  });
}

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Owner, group and mode of a file written over `target` (or new): the default `mode` unless `access` says otherwise. */
function writePlan(mode: number, access: FileAccess, target: Stats | undefined): { uid?: number; gid?: number; mode: number } {
  const keep = access.keepExisting && target?.isFile() ? target : undefined;
  const uid = access.uid ?? keep?.uid;
  const gid = access.gid ?? keep?.gid;
  let finalMode = access.mode ?? (keep ? keep.mode & 0o777 : mode);
  // A kept mode never makes a secret readable by every user.
  if (mode === SECRET_MODE && access.mode === undefined) finalMode &= ~0o007;
  return { ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}), mode: finalMode };
}

function writeError(path: string, e: unknown, w: { uid?: number; gid?: number }): PkiError {
  if (e instanceof PkiError) return e;
  if ((e as NodeJS.ErrnoException).code === "EPERM" && (w.uid !== undefined || w.gid !== undefined)) {
    return new PkiError("storage", `${path}: not permitted to give the file to owner ${w.uid ?? "-"} group ${w.gid ?? "-"}`, "only root may give a file away: run as root, or leave out --owner/--group", "PERMISSION_DENIED");
  }
  return fileError(path, e);
}

function existing(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Matches the temporary files FileBatch and backup/restore create. */
export const TEMP_FILE = /\/\.[^/]*\.tmp-[0-9a-f]{12}$/;

export function fileError(path: string, e: unknown): PkiError {
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOSPC: "no space left on device",
    EEXIST: "already exists",
    ENOENT: "no such file or directory",
    ENOTDIR: "a parent is not a directory",
  };
  const stable: Record<string, string> = { EACCES: "PERMISSION_DENIED", EPERM: "PERMISSION_DENIED", EROFS: "READ_ONLY", ENOSPC: "DISK_FULL" };
  return new PkiError(code === "ENOENT" ? "not-found" : "storage", `${path}: ${why[code ?? ""] ?? (e as Error).message}`, undefined, stable[code ?? ""]);
}
