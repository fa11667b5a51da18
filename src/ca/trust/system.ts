import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PkiError } from "../errors.js";
import { fileError } from "../home.js";
import { type TrustedRoot, type TrustStore, trustLabel } from "./store.js";
import { lastLine, locate, runTool, UPDATE_CA_CERTIFICATES } from "./tools.js";

/** Where Debian's update-ca-certificates takes local roots from, and where it links them. */
export const LOCAL_CA_DIR = "/usr/local/share/ca-certificates";
const LINKED_DIR = "/etc/ssl/certs";

/** The system store (Debian): curl, wget, OpenSSL and GnuTLS clients, Python, and Node with --use-openssl-ca. */
export class SystemStore implements TrustStore {
  readonly kind = "system";
  readonly location: string;
  private readonly label: string;
  private tool = "";

  constructor(private readonly root: TrustedRoot) {
    this.label = trustLabel(root);
    this.location = join(LOCAL_CA_DIR, `${this.label}.crt`);
  }

  prepare(): void {
    this.tool = locate(UPDATE_CA_CERTIFICATES);
    if (process.getuid?.() !== 0) {
      throw new PkiError("storage", `changing the system trust store (${LOCAL_CA_DIR}) needs root`, "run it with sudo, or choose only --nss / --java", "NOT_ROOT");
    }
  }

  /** Present when our file holds this root and update-ca-certificates has linked it. */
  contains(): boolean {
    let content: string;
    try {
      content = readFileSync(this.location, "utf8");
    } catch {
      return false;
    }
    return content === this.root.pem && existsSync(join(LINKED_DIR, `${this.label}.pem`));
  }

  add(): void {
    const staged = `${this.location}.${process.pid}.tmp`;
    try {
      mkdirSync(LOCAL_CA_DIR, { recursive: true, mode: 0o755 });
      writeFileSync(staged, this.root.pem, { mode: 0o644, flag: "wx" });
      renameSync(staged, this.location);
    } catch (e) {
      rmSync(staged, { force: true });
      throw fileError(this.location, e);
    }
    try {
      this.update();
    } catch (e) {
      // Leave the store as it was: without our file, and with a bundle that does not list it.
      rmSync(this.location, { force: true });
      this.update();
      throw e;
    }
  }

  remove(): void {
    try {
      rmSync(this.location, { force: true });
    } catch (e) {
      throw fileError(this.location, e);
    }
    this.update();
  }

  private update(): void {
    const r = runTool(this.tool, []);
    if (r.status !== 0) throw new PkiError("storage", `update-ca-certificates failed: ${lastLine(r.output)}`, undefined, "TRUST_TOOL_FAILED");
  }

  /** Our file, even if update-ca-certificates never linked it. */
  holdsAny(): boolean {
    return existsSync(this.location);
  }
}
