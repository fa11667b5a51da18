// The first thing bin/pki runs: when `pki serve` runs on the home, send it the command line
// and relay what the command prints, instead of loading the CLI, the crypto stack and SQLite
// and asking for the CA passphrase. Built-ins only, so that this costs next to nothing when
// there is no server. Every doubt before the server accepts the command means "run it
// directly"; after it accepted, a lost connection is an error, never a retry (it may have run).
import { readFileSync, statSync } from "node:fs";
import type { Socket } from "node:net";
import { join, resolve } from "node:path";
import { type CliRequest, FRAME, frameReader, UPGRADE } from "../server/cli-protocol.js";
import { scanArgv, servedCommand, servedEnv } from "./fast-argv.js";

/** Exit code and stable code when the server is lost mid-command (README, "Error codes"). */
const LOST = { exitCode: 7, code: "SERVE_LOST" };

/** The command's exit code when `pki serve` ran it; null to run it directly. */
export async function runThroughServe(argv: string[]): Promise<number | null> {
  const help = staticHelp(argv);
  if (help !== null) {
    process.stdout.write(help);
    return 0;
  }
  const env = process.env;
  if (env.PKI_NO_SERVE) return null;
  const cwd = process.cwd();
  // As context.ts homeOf: --home, else $PKI_HOME, else ./pki.
  const home = resolve(cwd, scanArgv(argv).home ?? env.PKI_HOME ?? "pki");
  const socket = join(home, "serve.sock");
  // Root may connect to anyone's socket; the command would then run as the server's user and be
  // recorded as theirs. Only the owner's own server is used.
  let owner: number;
  try {
    owner = statSync(socket).uid;
  } catch {
    // No socket, or a home this user may not enter: the direct path says what is wrong.
    return null;
  }
  if (owner !== process.getuid?.()) return null;
  // Loaded only with a server: node:tty and node:net are most of this file's cost.
  const [{ isatty }, { connect }] = await Promise.all([import("node:tty"), import("node:net")]);
  const canPrompt = isatty(0) && isatty(1) && !env.CI;
  const command = servedCommand(argv, env, canPrompt);
  if (command === null) return null;
  const outInfo = (fd: number) => (isatty(fd) ? { isTTY: true, columns: (fd === 1 ? process.stdout : process.stderr).columns } : { isTTY: false });
  const request: CliRequest = { argv, cwd, home, env: servedEnv(env), stdout: outInfo(1), stderr: outInfo(2) };
  return exchange(connect, socket, request, command);
}

function exchange(connect: (path: string) => Socket, path: string, request: CliRequest, command: string): Promise<number | null> {
  return new Promise((done) => {
    const conn = connect(path);
    let accepted = false;
    let finished = false;
    let head: Buffer | null = Buffer.alloc(0);
    const finish = (code: number | null) => {
      if (finished) return;
      finished = true;
      conn.destroy();
      done(code);
    };
    const onFrame = (type: number, payload: Buffer) => {
      if (type === FRAME.accepted) {
        accepted = true;
        // `pki list | head`: as directly, a closed pipe ends pki quietly.
        process.stdout.on("error", (e: NodeJS.ErrnoException) => {
          if (e.code !== "EPIPE") throw e;
          process.exit(0);
        });
      }
      else if (type === FRAME.fallBack) finish(null);
      else if (type === FRAME.stdout) process.stdout.write(payload);
      else if (type === FRAME.stderr) process.stderr.write(payload);
      else if (type === FRAME.exit) finish(Number(payload.toString("utf8")));
    };
    const frames = frameReader(onFrame);
    conn.on("connect", () => {
      conn.write(`POST /cli HTTP/1.1\r\nHost: pki\r\nConnection: Upgrade\r\nUpgrade: ${UPGRADE}\r\n\r\n${JSON.stringify(request)}\n`);
    });
    conn.on("data", (chunk: Buffer) => {
      if (head === null) return frames(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      // A server without the fast path answers something else: run directly.
      if (!head.subarray(0, end).toString("latin1").startsWith("HTTP/1.1 101 ")) return finish(null);
      const rest = head.subarray(end + 4);
      head = null;
      if (rest.length) frames(rest);
    });
    const lost = () => {
      if (finished) return;
      if (!accepted) return finish(null);
      const json = argvHasJson(request.argv);
      const message = `pki serve stopped before ${command} finished (its socket ${path} closed); the command may or may not have taken effect`;
      const hint = "check with pki list or pki show before running it again";
      process.stderr.write(`pki: ${command}: ${message}; ${hint}\n`);
      if (json) process.stdout.write(JSON.stringify({ error: { code: LOST.code, message, hint, exitCode: LOST.exitCode } }, null, 2) + "\n");
      finish(LOST.exitCode);
    };
    conn.on("error", lost);
    conn.on("close", lost);
  });
}

function argvHasJson(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/**
 * `pki --help`, `pki CMD --help`: the text the build captured from the CLI (help.json beside
 * this file, scripts/help-text.mjs), for a pipe; a terminal's width changes the wrapping, so there
 * the CLI prints it.
 */
function staticHelp(argv: string[]): string | null {
  const last = argv[argv.length - 1];
  // process.stdout.isTTY is isatty(1) without loading node:tty for a pipe or a file.
  if ((last !== "--help" && last !== "-h") || argv.length > 3 || process.stdout.isTTY) return null;
  const words = argv.slice(0, -1);
  if (words.some((w) => w.startsWith("-"))) return null;
  let texts: Record<string, string>;
  try {
    texts = JSON.parse(readFileSync(new URL("./help.json", import.meta.url), "utf8")) as Record<string, string>;
  } catch {
    return null;
  }
  return Object.hasOwn(texts, words.join(" ")) ? texts[words.join(" ")]! : null;
}
