import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { PkiError } from "../errors.js";

/** A program a trust store is changed with, and the Debian package that provides it. */
export interface Tool {
  program: string;
  debianPackage: string;
}

export const CERTUTIL: Tool = { program: "certutil", debianPackage: "libnss3-tools" };
export const KEYTOOL: Tool = { program: "keytool", debianPackage: "default-jre-headless" };
export const UPDATE_CA_CERTIFICATES: Tool = { program: "update-ca-certificates", debianPackage: "ca-certificates" };

/** Where `tool` is on PATH (plus the sbin folders, which a non-login root shell may lack); TOOL_MISSING otherwise. */
export function locate(tool: Tool): string {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"].filter(Boolean);
  for (const dir of dirs) {
    const path = join(dir, tool.program);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      /* not here */
    }
  }
  throw new PkiError("not-found", `${tool.program} is not installed`, `install it with: apt-get install ${tool.debianPackage}`, "TOOL_MISSING");
}

export interface ToolRun {
  status: number;
  output: string;
}

/**
 * Runs a store's program with its standard input given (empty by default), never a terminal:
 * a tool that would prompt fails instead of hanging. `env` adds variables for the child only, which is
 * how secrets reach it (keytool's -storepass:env), never through its arguments.
 */
export function runTool(path: string, args: string[], options: { env?: Record<string, string>; input?: string } = {}): ToolRun {
  const r = spawnSync(path, args, { encoding: "utf8", input: options.input ?? "", env: { ...toolEnvironment(), ...options.env }, timeout: 120_000 });
  if (r.error) throw new PkiError("storage", `${path} could not run: ${r.error.message}`);
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}`.trim() };
}

/** What a store's program inherits: where to find programs and files, never pki's own secrets (PKI_PASSPHRASE, PINs, passwords). */
export function toolEnvironment(): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "JAVA_HOME"]) {
    const value = process.env[name];
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}

/** The last line a tool printed, for an error message (bounded: tools can be verbose). */
export function lastLine(output: string): string {
  const lines = output.split("\n").filter((l) => l.trim());
  return (lines.at(-1) ?? "no output").slice(0, 300);
}
