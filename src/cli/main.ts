import { CommanderError } from "commander";
import { asPkiError } from "../ca/errors.js";
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
  const err = asPkiError(e);
  if (err) {
    process.stderr.write(`pki: ${label}: ${err.message}${err.hint ? `; ${err.hint}` : ""}\n`);
    return EXIT_BY_KIND[err.kind];
  }
  if ((e as { name?: string }).name === "ExitPromptError") {
    process.stderr.write(`pki: ${label}: cancelled\n`);
    return EXIT.usage;
  }
  process.stderr.write(`pki: ${label}: internal error: ${(e as Error)?.message ?? String(e)}\n`);
  if (process.env.PKI_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
  return EXIT.internal;
}
