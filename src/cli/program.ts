import { Command, Option } from "commander";
import { shown } from "../ca/errors.js";
import { register as crl } from "./commands/crl.js";
import { register as exportP12 } from "./commands/export-p12.js";
import { register as initRoot } from "./commands/init-root.js";
import { register as issueClient } from "./commands/issue-client.js";
import { register as list } from "./commands/list.js";
import { register as renew } from "./commands/renew.js";
import { register as revoke } from "./commands/revoke.js";
import { register as unrevoke } from "./commands/unrevoke.js";
import { register as show } from "./commands/show.js";
import { register as check } from "./commands/check.js";
import { register as audit } from "./commands/audit.js";
import { registerBackup as backup, registerRestore as restore } from "./commands/backup.js";
import { register as passphrase } from "./commands/passphrase.js";
import { register as issueServer } from "./commands/issue-server.js";
import { register as exportKey } from "./commands/export-key.js";
import { register as exportCert } from "./commands/export-cert.js";
import { register as exportMobileconfig } from "./commands/export-mobileconfig.js";
import { register as serverConfig } from "./commands/server-config.js";
import { register as hook } from "./commands/hook.js";
import { register as doctor } from "./commands/doctor.js";
import { register as config } from "./commands/config.js";
import { register as serve } from "./commands/serve.js";
import { register as role } from "./commands/role.js";
import { register as trust } from "./commands/trust.js";
import { register as rotateRoot } from "./commands/rotate-root.js";
import { io } from "./io.js";
import { register as join } from "./commands/join.js";
import { register as migrate } from "./commands/migrate.js";

const EXAMPLES = `
Examples:
  $ export PKI_HOME=/etc/pki-clients
  $ pki init-root --cn "Example Root CA" --org "Example" --country NL
  $ pki issue-client alice --email alice@example.com
  $ PKI_P12_PASSWORD=… pki export-p12 alice          # → alice.p12 for browsers and phones
  $ pki revoke alice --reason keyCompromise         # → crl.pem regenerated; reload nginx
  $ pki list --expiring 30
  $ PKI_DATABASE_URL='postgres://pki@db.internal/pki?sslmode=verify-full&sslrootcert=db-ca.pem' pki init-root --cn "Example Root CA"
                                                    # ledger in PostgreSQL; later commands find it through the home

Secrets: the CA passphrase comes from --passphrase-file FILE, $PKI_PASSPHRASE, or a prompt;
         a database password from $PKI_DATABASE_URL, $PGPASSWORD or ~/.pgpass, never --database.
Exit codes: 0 ok, 1 internal error, 2 usage, 3 not found, 4 conflict, 5 passphrase/password,
            6 invalid input or policy refusal, 7 ledger or file-system error,
            8 check, audit --verify or doctor found a problem, 9 done but the CRL hook failed,
            130 interrupted (Ctrl-C). With --json, errors are {"error": {code, message, hint, exitCode}} on stdout.
`;

/** The commander program. `onCommand` learns which command runs, for error messages. */
export function buildProgram(onCommand: (label: string) => void): Command {
  const program = new Command("pki")
    .description("A private certificate authority for mutual TLS: one tool, one ledger.")
    .version("0.1.0")
    .addOption(new Option("--home <dir>", "CA home (default: $PKI_HOME, else ./pki)"))
    .addOption(new Option("--database <url>", "PostgreSQL ledger URL without password (default: $PKI_DATABASE_URL, else the home's)"))
    .option("--json", "print machine-readable JSON (schema in the README)")
    .option("--passphrase-file <file>", "read the CA passphrase from the first line of FILE")
    .addHelpText("after", EXAMPLES)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      outputError: () => {},
      writeOut: (s) => void io().stdout.write(s),
      writeErr: (s) => void io().stderr.write(s),
      getOutHelpWidth: () => (io().stdout.isTTY ? io().stdout.columns : undefined) as number,
      getErrHelpWidth: () => (io().stderr.isTTY ? io().stderr.columns : undefined) as number,
    });
  program.hook("preAction", (_root, action) => {
    const names: string[] = [];
    for (let c: Command | null = action; c && c !== program; c = c.parent) names.unshift(c.name());
    const arg = action.args[0];
    // The argument is echoed in every error line: bounded like any echoed input.
    onCommand(arg ? `${names.join(" ")} ${shown(arg)}` : names.join(" "));
  });
  for (const reg of [initRoot, issueClient, issueServer, exportP12, exportMobileconfig, exportKey, exportCert, revoke, unrevoke, crl, list, show, renew, serverConfig, hook, doctor, check, audit, backup, restore, passphrase, config, serve, role, trust, rotateRoot, join, migrate]) {
    const cmd = reg(program);
    cmd
      .exitOverride((err) => {
        onCommand(cmd.name());
        throw err;
      })
      .configureOutput({ outputError: () => {} });
  }
  return program;
}
