import { CommanderError } from "commander";
import { PkiError } from "../ca/errors.js";
import { EXIT, EXIT_BY_KIND } from "./errors.js";
import { buildProgram } from "./program.js";

// Everything pki creates is private unless a file mode says otherwise (certificates get 0644 explicitly).
process.umask(0o077);
// `pki list | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

let label = "pki";
const program = buildProgram((what) => (label = what));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.exitCode = report(e);
}

/** The one error boundary: every failure becomes one line on stderr and a documented exit code. */
function report(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return EXIT.ok;
    const msg = e.message.replace(/^error: /, "");
    process.stderr.write(`pki: ${label === "pki" ? "usage" : label}: ${msg} (see pki ${label === "pki" ? "" : label.split(" ")[0] + " "}--help)\n`);
    return EXIT.usage;
  }
  const kind = errorKind(e);
  if (kind) {
    const err = e as Error & { hint?: string };
    process.stderr.write(`pki: ${label}: ${err.message}${err.hint ? `; ${err.hint}` : ""}\n`);
    return kind;
  }
  if ((e as { name?: string }).name === "ExitPromptError") {
    process.stderr.write(`pki: ${label}: cancelled\n`);
    return EXIT.usage;
  }
  process.stderr.write(`pki: ${label}: internal error: ${(e as Error)?.message ?? String(e)}\n`);
  if (process.env.PKI_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
  return EXIT.internal;
}

/** Exit code for the typed errors of the layers below; null for anything unexpected. */
function errorKind(e: unknown): number | null {
  if (e instanceof PkiError) return EXIT_BY_KIND[e.kind];
  const name = (e as { name?: string })?.name;
  const code = (e as { code?: string })?.code;
  if (name === "LedgerError") return code === "busy" || code === "newer-schema" || code === "not-a-database" || code === "read-only" || code === "full" || code === "io" ? EXIT.storage : EXIT.conflict;
  if (name === "CryptoError") return code === "bad-passphrase" ? EXIT.secret : EXIT.invalid;
  return null;
}
