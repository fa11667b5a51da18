import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync, chmodSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import type { LedgerReader } from "../ledger/ledger.js";
import { crashPoint } from "./crash-point.js";
import { PkiError } from "./errors.js";

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
  /** The root certificate, for nginx `ssl_client_certificate`. */
  get caCertificate(): string {
    return join(this.dir, "ca.pem");
  }
  /** The current CRL, for nginx `ssl_crl`. */
  get crl(): string {
    return join(this.dir, "crl.pem");
  }
  certificate(name: string): string {
    return join(this.dir, "certs", `${name}.pem`);
  }
  key(name: string): string {
    return join(this.dir, "private", `${name}.key`);
  }
  pkcs12(name: string): string {
    return join(this.dir, "private", `${name}.p12`);
  }
  mobileconfig(name: string): string {
    return join(this.dir, "private", `${name}.mobileconfig`);
  }
  exists(): boolean {
    return existsSync(this.ledger);
  }
  /** Creates the home and its folders, owner-only. */
  create(): void {
    for (const d of [this.dir, join(this.dir, "certs"), join(this.dir, "private")]) {
      try {
        mkdirSync(d, { recursive: true, mode: DIR_MODE });
        chmodSync(d, DIR_MODE);
      } catch (e) {
        throw fileError(d, e);
      }
    }
  }
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

  /**
   * `durable: false` skips the per-file fsync (bulk issuance writes thousands of files; the
   * ledger, fsynced by SQLite, stays the source of truth and `pki check --repair` rewrites any
   * output a power cut lost). Renames stay atomic either way.
   */
  constructor(private readonly options: { durable?: boolean } = {}) {}

  /** Writes `data` beside `path`; the folder must exist (we never create folders outside the home). */
  stage(path: string, data: string | Uint8Array, mode: number, current?: (r: LedgerReader) => Promise<boolean>): void {
    // Hidden, and not ending in .pem/.key, so no glob or server picks up a half-made file.
    const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString("hex")}`);
    let fd: number | undefined;
    try {
      fd = openSync(tmp, "wx", mode);
      const buf = typeof data === "string" ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      if (this.options.durable !== false) fsyncSync(fd);
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        /* it may never have been created */
      }
      this.abort();
      throw fileError(path, e);
    }
    closeSync(fd);
    chmodSync(tmp, mode);
    this.staged.push({ tmp, path, ...(current ? { current } : {}) });
  }

  /**
   * Renames the staged files into place; returns the paths it installed (overtaken ones are
   * dropped). `ledger`, read under the write lock, answers the staged files' `current` checks.
   */
  async commit(ledger?: LedgerReader): Promise<string[]> {
    const dirs = new Set<string>();
    const installed: string[] = [];
    for (const s of this.staged) {
      if (s.current && ledger && !(await s.current(ledger))) {
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
