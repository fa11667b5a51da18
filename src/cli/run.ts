import { CommanderError } from "commander";
import { shown } from "../ca/errors.js";
import { EXIT, type ErrorReport, reportOf } from "./errors.js";
import { io } from "./io.js";
import { buildProgram } from "./program.js";

/**
 * Runs one pki command line (`args` without node and the script) with the current I/O
 * (io.ts) and returns its exit code. The one error boundary: every failure becomes one line
 * on stderr (and a JSON object with --json) and a documented exit code.
 */
export async function runCli(args: string[]): Promise<number> {
  const end = args.indexOf("--");
  // Known before parsing, so that a usage error is reported as JSON too.
  const json = (end === -1 ? args : args.slice(0, end)).includes("--json");
  let label = "pki";
  const program = buildProgram((what) => (label = what));

  const fail = (r: ErrorReport, what = label): number => {
    io().stderr.write(`pki: ${what}: ${r.message}${r.hint ? `; ${r.hint}` : ""}\n`);
    if (json) io().stdout.write(JSON.stringify({ error: r }, null, 2) + "\n");
    return r.exitCode;
  };

  const report = (e: unknown): number => {
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
    // Served, running it again would reach the same server, whose key was opened with the old passphrase.
    if (known?.code === "PASSPHRASE_CHANGED" && io().authority) return fail({ ...known, hint: "restart pki serve with the new passphrase (PKI_NO_SERVE=1 runs this command directly meanwhile)" });
    if (known) return fail(known);
    if (io().env.PKI_DEBUG) io().stderr.write(`${(e as Error)?.stack}\n`);
    return fail({ code: "INTERNAL", message: `internal error: ${(e as Error)?.message ?? String(e)}`, hint: "this is a bug: please report it (PKI_DEBUG=1 prints the stack)", exitCode: EXIT.internal });
  };

  try {
    await program.parseAsync(args, { from: "user" });
    return io().exitCode ?? EXIT.ok;
  } catch (e) {
    return report(e);
  }
}
