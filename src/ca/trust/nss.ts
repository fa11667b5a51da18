import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { PkiError, shown } from "../errors.js";
import { type TrustedRoot, type TrustStore, trustLabel } from "./store.js";
import { CERTUTIL, lastLine, locate, runTool } from "./tools.js";

/** The shared NSS database Chromium and other NSS programs of the user read on Linux. */
export function defaultNssDir(): string {
  return join(homedir(), ".pki", "nssdb");
}

/** An NSS database (cert9.db): Chromium's ~/.pki/nssdb, or a Firefox profile folder. */
export class NssStore implements TrustStore {
  readonly kind = "nss";
  readonly location: string;
  private readonly nickname: string;
  private tool = "";

  constructor(
    private readonly root: TrustedRoot,
    dir: string,
  ) {
    this.location = resolve(dir);
    this.nickname = trustLabel(root);
  }

  prepare(): void {
    this.tool = locate(CERTUTIL);
    if (!existsSync(join(this.location, "cert9.db"))) {
      throw new PkiError(
        "not-found",
        `no NSS database in ${shown(this.location)} (no cert9.db)`,
        `create one with: certutil -N -d sql:${this.location} --empty-password, or point --nss at a Firefox profile folder`,
        "NO_NSS_DATABASE",
      );
    }
  }

  contains(): boolean {
    return this.certutil(["-L", "-n", this.nickname]).status === 0;
  }

  holdsAny(): boolean {
    return this.contains();
  }

  add(): void {
    // "C,,": a trusted CA for TLS servers; not for e-mail or code signing.
    this.expectSuccess(this.certutil(["-A", "-n", this.nickname, "-t", "C,,", "-a"], this.root.pem), "add the root to");
  }

  remove(): void {
    this.expectSuccess(this.certutil(["-D", "-n", this.nickname]), "remove the root from");
  }

  private certutil(args: string[], input?: string) {
    return runTool(this.tool, [...args, "-d", `sql:${this.location}`], input !== undefined ? { input } : {});
  }

  private expectSuccess(r: { status: number; output: string }, what: string): void {
    if (r.status !== 0) throw new PkiError("storage", `certutil could not ${what} ${shown(this.location)}: ${lastLine(r.output)}`, "a database with a password cannot be changed without a terminal; check it with: certutil -L -d sql:DIR", "TRUST_TOOL_FAILED");
  }
}
