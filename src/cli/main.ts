import { io } from "./io.js";
import { releaseTerminal } from "./prompts.js";
import { runCli } from "./run.js";

// Everything pki creates is private unless a file mode says otherwise (certificates get 0644 explicitly).
process.umask(0o077);
// `pki list | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

// No SIGINT handler on purpose: the default action stops pki at once, even inside SQLite's
// synchronous wait for a lock, and a shell reports death by SIGINT as 130. SQLite rolls back
// the open transaction; staged files left behind are what pki check --repair removes.

try {
  io().exitCode = await runCli(process.argv.slice(2));
} finally {
  releaseTerminal();
}
