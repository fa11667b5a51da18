import { CommanderError } from "commander";
import { shown } from "../ca/errors.js";
import { EXIT, type ErrorReport, reportOf } from "./errors.js";
import { buildProgram } from "./program.js";
import { releaseTerminal } from "./prompts.js";

// Everything pki creates is private unless a file mode says otherwise (certificates get 0644 explicitly).
process.umask(0o077);
// `pki list | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

const args = process.argv.slice(2);
const end = args.indexOf("--");
// Known before parsing, so that a usage error is reported as JSON too.
const json = (end === -1 ? args : args.slice(0, end)).includes("--json");

let label = "pki";
const program = buildProgram((what) => (label = what));

// No SIGINT handler on purpose: the default action stops pki at once, even inside SQLite's
// synchronous wait for a lock, and a shell reports death by SIGINT as 130. SQLite rolls back
// the open transaction; staged files left behind are what pki check --repair removes.

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.exitCode = report(e);
} finally {
  releaseTerminal();
}

/** The one error boundary: every failure becomes one line on stderr (and a JSON object with --json) and a documented exit code. */
function report(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return EXIT.ok;
    // `pki`, `pki help nosuch`, `pki hook`: commander has printed the usage to stderr.
    if (e.code === "commander.help") {
      if (e.exitCode === 0) return EXIT.ok;
      const [first, second] = program.args;
      const unknown = first === "help" && second ? `unknown command "${shown(second)}"` : "a command is required";
      return fail({ code: "USAGE", message: unknown, hint: null, exitCode: EXIT.usage }, "usage");
    }
    const message = e.message.replace(/^error: /, "");
    const command = label === "pki" ? "" : label.split(" ")[0] + " ";
    return fail({ code: "USAGE", message, hint: `see pki ${command}--help`, exitCode: EXIT.usage }, label === "pki" ? "usage" : label);
  }
  const known = reportOf(e);
  if (known) return fail(known);
  if (process.env.PKI_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
  return fail({ code: "INTERNAL", message: `internal error: ${(e as Error)?.message ?? String(e)}`, hint: "this is a bug: please report it (PKI_DEBUG=1 prints the stack)", exitCode: EXIT.internal });
}

function fail(r: ErrorReport, what = label): number {
  process.stderr.write(`pki: ${what}: ${r.message}${r.hint ? `; ${r.hint}` : ""}\n`);
  if (json) process.stdout.write(JSON.stringify({ error: r }, null, 2) + "\n");
  return r.exitCode;
}
