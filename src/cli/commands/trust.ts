import type { Command } from "commander";
import type { TrustReport, TrustSelection } from "../../ca/trust/change.js";
import { print, printJson } from "../output.js";
import { canPrompt, askSecret } from "../prompts.js";
import { readSecret } from "../secrets.js";
import { globals } from "../context.js";
import { withAuthority } from "./shared.js";

interface Flags {
  system?: boolean;
  nss?: string | true;
  java?: string;
  storepassFile?: string;
}

const OUTCOME_TEXT: Record<TrustReport["outcome"], string> = {
  installed: "installed",
  "already-present": "already present",
  removed: "removed",
  "not-present": "not present",
};

const STORE_TEXT: Record<TrustReport["store"], string> = { system: "system store", nss: "NSS database", java: "Java keystore" };

export function register(program: Command): Command {
  const trust = program.command("trust").description("make this machine trust the root CA (system store, NSS for Chromium/Firefox, Java)");
  for (const action of ["install", "uninstall"] as const) {
    trust
      .command(action)
      .description(action === "install" ? "add ca.pem to the chosen trust stores (idempotent)" : "remove the root from the chosen trust stores (idempotent)")
      .option("--system", "the system store: /usr/local/share/ca-certificates + update-ca-certificates (needs root)")
      .option("--nss [dir]", "an NSS database folder (default ~/.pki/nssdb, Chromium's); a Firefox profile folder works too")
      .option("--java <keystore>", "a Java keystore, e.g. /etc/ssl/certs/java/cacerts (created if missing)")
      .option("--storepass-file <file>", "read the Java keystore password from the first line of FILE")
      .addHelpText(
        "after",
        `
With none of --system, --nss, --java: the system store, and ~/.pki/nssdb when it exists.
The Java keystore password comes from --storepass-file, $PKI_JAVA_STOREPASS, a prompt on a
terminal, else "changeit" (the JDK's default for cacerts).

Examples:
  $ sudo pki trust ${action}                      # curl, wget, OpenSSL and GnuTLS clients
  $ pki trust ${action} --nss                     # Chromium (~/.pki/nssdb)
  $ pki trust ${action} --nss ~/.mozilla/firefox/abcd1234.default-release
  $ sudo pki trust ${action} --java /etc/ssl/certs/java/cacerts`,
      )
      .action(async (flags: Flags, cmd: Command) => {
        const selection: TrustSelection = {
          ...(flags.system ? { system: true } : {}),
          ...(flags.nss !== undefined ? { nss: flags.nss } : {}),
          ...(flags.java !== undefined ? { java: { file: flags.java, storepass: await javaStorepass(flags.storepassFile) } } : {}),
        };
        const reports = await withAuthority(cmd, (authority) => authority.changeTrust(action, selection), "read");
        if (globals(cmd).json) {
          printJson({ stores: reports });
          return;
        }
        for (const r of reports) print(`${STORE_TEXT[r.store]} ${r.location}: ${OUTCOME_TEXT[r.outcome]}`);
      });
  }
  return trust;
}

async function javaStorepass(file: string | undefined): Promise<string> {
  const { DEFAULT_JAVA_STOREPASS } = await import("../../ca/trust/java.js");
  if (file !== undefined || process.env.PKI_JAVA_STOREPASS) return readSecret({ what: "Java keystore password", file, flag: "--storepass-file", envVar: "PKI_JAVA_STOREPASS", confirm: false });
  if (canPrompt()) return (await askSecret(`Java keystore password (Enter for ${DEFAULT_JAVA_STOREPASS})`, false)) || DEFAULT_JAVA_STOREPASS;
  return DEFAULT_JAVA_STOREPASS;
}
