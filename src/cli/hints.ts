import type { PkiError } from "../ca/errors.js";
import { shellQuote } from "../ca/shell-quote.js";

type Hint = (details: PkiError["details"], command: string) => string | undefined;

/**
 * What to type next, in this CLI's words, by error code: the authority's messages say what
 * happened and leave the commands to the front door that knows them.
 */
const HINTS: Record<string, Hint> = {
  NO_CA: () => "create one with: pki init-root --cn NAME, or point --home / PKI_HOME at an existing one",
  CA_EXISTS: (_d, command) => (command === "restore" ? "restore into a new, empty --home" : "pki never overwrites a CA; choose another --home"),
  NAME_TAKEN: (d) => (d.line !== undefined ? "remove it from the list, or renew it with pki renew" : d.name !== undefined ? `to replace it run: pki renew ${d.name}` : undefined),
  NOT_FOUND: (d) => (d.target !== undefined ? "pki list shows names and serials" : d.name !== undefined ? "pki list shows the names" : undefined),
  KEY_NOT_HELD: (d) => (d.operation === "renew" ? "have the holder send a new CSR and use: pki issue-client NAME --csr FILE" : undefined),
  REVOKED: (d) => `issue a new one with: pki renew ${d.name}`,
  NOT_A_SERVER_CERTIFICATE: () => "name one from pki issue-server",
  NO_SERVER_CERTIFICATE: (d) => `issue one first: pki issue-server HOST, then pki server-config ${d.target} --server HOST`,
  SERVER_AMBIGUOUS: (d) => `choose with --server NAME, e.g. pki server-config ${d.target} --server ${shellQuote(String(d.example))}`,
  EMPTY_KEY_PASSWORD: () => "use --unencrypted to write the key in the clear, deliberately",
  OUTPUTS_STALE: () => "run: pki check --repair",
  BAD_PASSPHRASE: () => "check PKI_PASSPHRASE or --passphrase-file",
};

/** The hint printed after an error: the CLI's for its code, else the one the error carries. */
export function hintFor(e: PkiError, command: string): string | undefined {
  return HINTS[e.code]?.(e.details, command) ?? e.hint;
}
