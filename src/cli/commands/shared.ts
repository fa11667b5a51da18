import { existsSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { MAX_SMALL_FILE_BYTES, readBounded } from "../../ca/bounded-read.js";
import { PkiError, shown } from "../../ca/errors.js";
import type { Authority, Context } from "../../ca/authority.js";
import type { ExportFormat } from "../../ca/export.js";
import type { FileAccess } from "../../ca/home.js";
import type { CrlCopy, CrlFormat } from "../../ca/revocation.js";
import { authorityOptions, commandContext, globals, type GlobalOptions } from "../context.js";
import { inputPath, io, userPath } from "../io.js";

/**
 * How a command uses the ledger: "read" opens it read-only (so it works on a read-only mount);
 * "write-if-possible" falls back to that when the home cannot be written (backup records an
 * event when it can).
 */
export type LedgerAccess = "read" | "write" | "write-if-possible";

/** Opens the home's authority (loaded lazily: --help never pays for crypto), runs `fn`, closes. */
export async function withAuthority<T>(cmd: Command, fn: (authority: Authority, opts: GlobalOptions, ctx: Context) => Promise<T>, access: LedgerAccess = "write"): Promise<T> {
  const opts = globals(cmd);
  const served = io().authority;
  if (served) return fn(served, opts, commandContext());
  const { Authority } = await import("../../ca/authority.js");
  const open = (mode: "read" | "write") => Authority.open(authorityOptions(opts), mode);
  let authority: Authority;
  if (access === "write-if-possible") {
    try {
      authority = await open("write");
    } catch (e) {
      const code = (e as { name?: string; code?: string }).name === "LedgerError" ? (e as { code: string }).code : "";
      if (code !== "read-only" && code !== "permission") throw e;
      authority = await open("read");
    }
  } else authority = await open(access);
  try {
    return await fn(authority, opts, commandContext());
  } finally {
    await authority.close();
  }
}

/**
 * Before any secret is asked: the name exists and may be exported (warnings on stderr),
 * then the CA passphrase is checked, so that the export's own password comes last, right
 * before the work.
 */
export async function exportPreflight(authority: Authority, ctx: Context, target: string, format: ExportFormat, force: boolean | undefined): Promise<void> {
  const { warnings } = await authority.exportCandidate(ctx, target, format, force ?? false);
  for (const w of warnings) io().stderr.write(`pki: warning: ${w}\n`);
  await authority.unlock();
}

export function parseDays(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number of days");
  return Number(value);
}

/** `--format` of a CRL copy: PEM ("X509 CRL", what nginx and OpenSSL read) or DER (Windows, Java, some appliances). */
export const CRL_FORMAT_CHOICES: CrlFormat[] = ["pem", "der"];

/** The `copy` of a CRL command: `--format` only means something with a file to write. */
/** The CRL copy a command writes beside crl.pem; `access` is what --owner, --group and --mode asked for it. */
export function crlCopy(out: string | undefined, format: CrlFormat | undefined, outFlag: string, formatFlag: string, access: FileAccess = {}): CrlCopy | undefined {
  if (out === undefined) {
    if (format !== undefined) throw new PkiError("usage", `${formatFlag} applies to the copy: give ${outFlag} FILE too (crl.pem in the home is always PEM)`);
    if (Object.keys(access).length > 0) throw new PkiError("usage", `--owner, --group and --mode apply to the ${outFlag} file`, `add ${outFlag} FILE (crl.pem in the home keeps the home's modes)`, "USAGE");
    return undefined;
  }
  return { path: userPath(out), format: format ?? "pem", access };
}

export const KEY_CHOICES = ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"];

export function readCsr(file: string): Uint8Array {
  try {
    return new Uint8Array(readBounded(inputPath(file), MAX_SMALL_FILE_BYTES, "--csr"));
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError("not-found", `cannot read --csr ${shown(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `--profile`: a shipped profile's name stays a name; a file is read from where the command was run. */
export function profileArg(given: string): string {
  const path = inputPath(given);
  if (path === given) return given;
  return /^[a-z][a-z0-9-]*$/.test(given) && !existsSync(path) ? given : path;
}
