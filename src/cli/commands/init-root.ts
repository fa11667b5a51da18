import { type Command, Option } from "commander";
import type { KeyType } from "../../ca/authority.js";
import { authorityOptions, commandContext, globals } from "../context.js";
import { print, printJson, when } from "../output.js";
import { askText, canPrompt } from "../prompts.js";
import { KEY_CHOICES, parseDays } from "./shared.js";

interface Flags {
  cn?: string;
  org?: string;
  country?: string;
  key: KeyType;
  days?: number;
  profile?: string;
  pkcs11?: string;
}

export function register(program: Command): Command {
  return program
    .command("init-root")
    .description("create the root CA (pathLen 0, key encrypted at rest) and an empty CRL")
    .option("--cn <name>", "common name of the root, e.g. \"Example Root CA\"")
    .option("--org <name>", "organization (O)")
    .option("--country <CC>", "two-letter country code (C)")
    .addOption(new Option("--key <type>", "key type").choices(KEY_CHOICES).default("ec-p256"))
    .option("--days <n>", "validity in days (default 3650)", parseDays)
    .option("--profile <file.ini>", "extensions profile (default templates/profiles/root.ini)")
    .option("--pkcs11 <uri>", "generate the key in a PKCS#11 token, e.g. 'pkcs11:token=pki;object=root' (library from PKI_PKCS11_MODULE, PIN from PKI_PKCS11_PIN, PKI_PKCS11_PIN_FILE or a prompt)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki --passphrase-file ~/.pki-pass init-root --cn "Example Root CA" --org Example --country NL
  $ pki --home /etc/nginx/clients init-root --cn "Intranet Clients CA" --key ec-p384
  $ pki init-root            # on a terminal: asks for the name and the passphrase
  $ PKI_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so pki init-root --cn "HSM Root CA" --pkcs11 'pkcs11:token=pki;object=root'

Writes ca.pem (nginx ssl_client_certificate) and crl.pem (nginx ssl_crl) into the home.`,
    )
    .action(async (flags: Flags, cmd: Command) => {
      const opts = globals(cmd);
      if (flags.cn === undefined && canPrompt()) {
        flags.cn = await askText("Common name of the root CA", { required: true });
        flags.org ??= (await askText("Organization (optional)", { required: false })) || undefined;
        flags.country ??= (await askText("Two-letter country code (optional)", { required: false, validate: (v) => v === "" || /^[A-Z]{2}$/.test(v) || "two capital letters, e.g. NL" })) || undefined;
      }
      if (flags.cn === undefined) {
        const { PkiError } = await import("../../ca/errors.js");
        throw new PkiError("usage", "--cn is required", 'for example: pki init-root --cn "Example Root CA"');
      }
      const { Authority } = await import("../../ca/authority.js");
      const result = await Authority.initRoot(authorityOptions(opts, true), commandContext(), {
        commonName: flags.cn,
        ...(flags.org !== undefined ? { organization: flags.org } : {}),
        ...(flags.country !== undefined ? { country: flags.country } : {}),
        keyType: flags.key,
        ...(flags.days !== undefined ? { days: flags.days } : {}),
        ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
        ...(flags.pkcs11 !== undefined ? { pkcs11: flags.pkcs11 } : {}),
      });
      if (opts.json) {
        printJson({
          certificate: result.certificatePath,
          crl: result.crl.path,
          subject: result.view.subject,
          serial: result.view.serial,
          notBefore: result.view.notBefore,
          notAfter: result.view.notAfter,
          crlNextUpdate: result.crl.nextUpdate,
          keyStorage: flags.pkcs11 !== undefined ? "pkcs11" : "ledger",
        });
        return;
      }
      print(`Created the root CA "${result.view.subject}" (serial ${result.view.serial}), valid until ${when(result.view.notAfter)}.`);
      print(`  ${result.certificatePath}   ← nginx ssl_client_certificate`);
      print(`  ${result.crl.path}  ← nginx ssl_crl; expires ${when(result.crl.nextUpdate)}: run "pki crl" before then`);
      print(`Next: pki issue-client NAME`);
    });
}
