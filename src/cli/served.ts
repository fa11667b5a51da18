// The server side of the CLI's fast path: one client's command line run inside `pki serve`,
// with the client's streams, environment and folder (io.ts) and serve's open authority.
import { realpathSync } from "node:fs";
import type { Authority } from "../ca/authority.js";
import type { CliRequest } from "../server/cli-protocol.js";
import { servedCommand } from "./fast-argv.js";
import { withIo } from "./io.js";
import { runCli } from "./run.js";

export interface ServedOutput {
  /** Called once the command is known to be served, before it runs. */
  accept(command: string): void;
  stdout(chunk: string | Uint8Array): void;
  stderr(chunk: string | Uint8Array): void;
}

/** Runs a client's request; null when this server does not run it (the client then runs it directly). */
export function servedRunner(authority: Authority, homeDir: string, database: string | undefined): (req: CliRequest, out: ServedOutput) => Promise<number | null> {
  const home = real(homeDir);
  return async (req, out) => {
    // The client decided without a terminal prompt being possible here: nothing is asked.
    const command = servedCommand(req.argv, req.env, false);
    if (command === null || real(req.home) !== home || (req.env.PKI_DATABASE_URL || undefined) !== database) return null;
    // After a rotate-root by another process this server still holds the old root: the client runs the command itself.
    if (!(await authority.unlockedRootIsActive())) return null;
    out.accept(command);
    const stream = (info: { isTTY: boolean; columns?: number }, write: (chunk: string | Uint8Array) => void) => ({ isTTY: info.isTTY, ...(info.columns !== undefined ? { columns: info.columns } : {}), write });
    return withIo({ stdout: stream(req.stdout, out.stdout), stderr: stream(req.stderr, out.stderr), env: req.env, cwd: req.cwd, canPrompt: false, exitCode: undefined, authority }, () => runCli(req.argv));
  };
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
