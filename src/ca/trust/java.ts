import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { PkiError, shown } from "../errors.js";
import { type TrustedRoot, type TrustStore, trustLabel } from "./store.js";
import { KEYTOOL, lastLine, locate, runTool, type ToolRun } from "./tools.js";

/** keytool reads the store password from this variable of its own environment, never from argv. */
const STOREPASS_VARIABLE = "PKI_KEYTOOL_STOREPASS";

/** The default password of the JDK's cacerts, which keytool also uses for new keystores in mkcert's -install. */
export const DEFAULT_JAVA_STOREPASS = "changeit";

/** A Java keystore (JKS or PKCS#12), e.g. the JDK's cacerts or one a service is given with -Djavax.net.ssl.trustStore. */
export class JavaStore implements TrustStore {
  readonly kind = "java";
  readonly location: string;
  private readonly alias: string;
  private tool = "";

  constructor(
    private readonly root: TrustedRoot,
    file: string,
    private readonly storepass: string,
  ) {
    this.location = resolve(file);
    this.alias = trustLabel(root);
  }

  /** Checks the password against an existing keystore (a new one is created by `add`). */
  prepare(): void {
    this.tool = locate(KEYTOOL);
    if (!existsSync(this.location)) return;
    const r = this.keytool(["-list"]);
    if (r.status !== 0) this.fail(r, "open");
  }

  contains(): boolean {
    if (!existsSync(this.location)) return false;
    const r = this.keytool(["-list", "-alias", this.alias]);
    if (r.status === 0) return true;
    if (/does not exist/.test(r.output)) return false;
    return this.fail(r, "read");
  }

  holdsAny(): boolean {
    return this.contains();
  }

  add(): void {
    const r = this.keytool(["-importcert", "-noprompt", "-trustcacerts", "-alias", this.alias], this.root.pem);
    if (r.status !== 0) this.fail(r, "add the root to");
  }

  remove(): void {
    const r = this.keytool(["-delete", "-alias", this.alias]);
    if (r.status !== 0) this.fail(r, "remove the root from");
  }

  private keytool(args: string[], input?: string): ToolRun {
    return runTool(this.tool, [...args, "-keystore", this.location, "-storepass:env", STOREPASS_VARIABLE], { env: { [STOREPASS_VARIABLE]: this.storepass }, ...(input !== undefined ? { input } : {}) });
  }

  private fail(r: ToolRun, what: string): never {
    if (/password was incorrect|Keystore was tampered/.test(r.output)) {
      throw new PkiError("secret", `wrong password for the Java keystore ${shown(this.location)}`, `give it with PKI_JAVA_STOREPASS or --storepass-file FILE (the JDK's cacerts uses "${DEFAULT_JAVA_STOREPASS}")`, "BAD_STOREPASS");
    }
    throw new PkiError("storage", `keytool could not ${what} ${shown(this.location)}: ${lastLine(r.output)}`, undefined, "TRUST_TOOL_FAILED");
  }
}
