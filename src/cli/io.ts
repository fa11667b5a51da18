// What a command sees of the outside world: its output streams, environment, working folder
// and terminals. Directly that is this process's; through `pki serve`'s socket it is the
// calling client's, one per request, so that commands running side by side in the server
// never mix their output, exit codes or relative paths.
import { AsyncLocalStorage } from "node:async_hooks";
import { resolve } from "node:path";
import type { Authority } from "../ca/authority.js";

export interface OutStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string | Uint8Array): unknown;
}

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether a prompt may be shown (stdin and stdout are a terminal, not CI). */
  canPrompt: boolean;
  exitCode: number | undefined;
  /** `pki serve`'s open authority, its key unlocked: commands use it instead of opening the home and asking for a passphrase. */
  authority?: Authority;
}

const requests = new AsyncLocalStorage<CliIo>();

const processIo: CliIo = {
  // Getters: Node creates a stream on first use, and many commands never touch stderr.
  get stdout() {
    return process.stdout;
  },
  get stderr() {
    return process.stderr;
  },
  env: process.env,
  get cwd() {
    return process.cwd();
  },
  get canPrompt() {
    return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !process.env.CI;
  },
  get exitCode() {
    return process.exitCode === undefined ? undefined : Number(process.exitCode);
  },
  set exitCode(code) {
    process.exitCode = code;
  },
};

/** The running command's I/O: a served request's, else this process's. */
export function io(): CliIo {
  return requests.getStore() ?? processIo;
}

/** Runs `fn` with `served` as the I/O of everything it calls. */
export function withIo<T>(served: CliIo, fn: () => Promise<T>): Promise<T> {
  return requests.run(served, fn);
}

/** A path the user typed, against the folder the command was run in (the client's, when served). */
export function userPath(p: string): string {
  return resolve(io().cwd, p);
}

/**
 * A file to read as the user typed it: unchanged directly (messages echo it as typed), made
 * absolute against the client's folder when served.
 */
export function inputPath(p: string): string {
  const current = io();
  return current === processIo ? p : resolve(current.cwd, p);
}
