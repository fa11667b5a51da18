// `pki list` and `pki show` on a SQLite home without commander, the crypto stack or the
// bundle's chunks (issue 14's start-up target; README, "Performance"). Only the
// command lines it fully understands, on a home that opens cleanly, are answered here, with the
// same reading (ca/reading.ts) and printing (certificate-output.ts) code as the commands; for
// anything else, an error of any kind included, it returns null before printing anything and
// the full CLI runs, so every message, warning and exit code stays the full path's.
// PKI_NO_LEAN=1 skips it: tests use that to compare both paths (test/cli/lean-read.test.ts).
import { existsSync, fstatSync, writeSync } from "node:fs";
import { Home } from "../ca/home.js";
import { findCertificate, type ListFilter, listViews, rootLabels } from "../ca/reading.js";
import { type CertificateStatus, viewOf } from "../ca/views.js";
import { describeDer } from "../crypto/describe-der.js";
import { toPem } from "../crypto/pem.js";
import type { Ledger } from "../ledger/ledger.js";
import { SqliteLedger } from "../ledger/sqlite/engine.js";
import { printList, printShow } from "./certificate-output.js";
import { type OutStream, userPath, withIo } from "./io.js";

const STATUSES: readonly string[] = ["valid", "revoked", "expired", "superseded"] satisfies CertificateStatus[];

interface LeanCommand {
  command: "list" | "show";
  home: string | undefined;
  json: boolean;
  filter: ListFilter;
  target: string | undefined;
  pem: boolean;
}

/** The exit code when the command ran here; null to run the full CLI. */
export async function runLean(argv: string[]): Promise<number | null> {
  const env = process.env;
  if (env.PKI_NO_LEAN || env.PKI_DATABASE_URL) return null;
  const cmd = parseArgv(argv);
  if (cmd === null) return null;
  // As main.ts: what a reading command creates (a schema upgrade's -wal and -shm) stays private.
  process.umask(0o077);
  let print: () => void;
  try {
    const printer = await read(cmd);
    if (printer === null) return null;
    print = printer;
  } catch {
    return null;
  }
  const stdout = directStdout();
  await withIo({ stdout, get stderr() { return process.stderr; }, env: process.env, cwd: process.cwd(), canPrompt: false, exitCode: undefined }, async () => print());
  return 0;
}

/**
 * Standard output written with write(2), without process.stdout where that can be avoided:
 * creating it loads Node's stream machinery (for a pipe also node:net), a sixth of `show`'s
 * start-up. Only a character device (a terminal, or /dev/null) is asked isatty() through
 * process.stdout, for colour. A pipe that another process made non-blocking and that is full
 * (EAGAIN), or any other failure, hands the rest to process.stdout, in order, which then behaves
 * as it does for the full CLI.
 */
function directStdout(): OutStream {
  let isTTY: boolean | undefined;
  let stream: NodeJS.WriteStream | undefined;
  const toStream = (data: Uint8Array) => {
    if (!stream) {
      stream = process.stdout;
      // As main.ts: `pki list | head` closes the pipe early, which is not an error.
      stream.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "EPIPE") process.exit(0);
        throw e;
      });
    }
    stream.write(data);
  };
  return {
    get isTTY() {
      return (isTTY ??= characterDevice(1) && Boolean(process.stdout.isTTY));
    },
    write(chunk) {
      const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (stream) return toStream(data);
      for (let at = 0; at < data.length; ) {
        try {
          const written = writeSync(1, data, at);
          if (written === 0) return toStream(data.subarray(at));
          at += written;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "EPIPE") process.exit(0);
          return toStream(data.subarray(at));
        }
      }
    },
  };
}

/** True unless fd is known to be something else (a pipe, a file); a failing fstat leaves it to process.stdout. */
function characterDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return true;
  }
}

/** Everything is read (and the ledger closed) before anything is printed: a failure falls back with nothing written. */
async function read(cmd: LeanCommand): Promise<(() => void) | null> {
  // As context.ts homeOf and Authority.open: --home, else $PKI_HOME, else ./pki; a PostgreSQL home is the full CLI's.
  const home = new Home(userPath(cmd.home ?? process.env.PKI_HOME ?? "pki"));
  if (existsSync(home.databasePointer) || !existsSync(home.ledger)) return null;
  // What openLedger opens for a SQLite home; importing that would bundle the PostgreSQL engine.
  const ledger = SqliteLedger.open(home.ledger, { readOnly: true });
  try {
    return await readOpen(ledger, cmd);
  } finally {
    await ledger.close();
  }
}

async function readOpen(ledger: Ledger, cmd: LeanCommand): Promise<(() => void) | null> {
  if (!(await ledger.read((r) => r.activeRoot()))) return null;
  const now = new Date();
  if (cmd.command === "list") {
    const views = await listViews(ledger, now, cmd.filter);
    return () => printList(views, cmd.json);
  }
  const [rec, roots] = await ledger.read(async (r) => [await findCertificate(r, cmd.target!), rootLabels(await r.roots())] as const);
  if (!rec) return null;
  const details = cmd.pem ? null : describeDer(rec.der);
  if (!cmd.pem && details === null) return null;
  const view = viewOf(rec, now, roots);
  const pem = toPem(rec.der, "CERTIFICATE");
  return () => printShow(view, pem, details, cmd.json);
}

/**
 * The command lines handled here, parsed as commander parses them: global --home and --json
 * anywhere, the command's own options after it. Anything else (another option, a missing or
 * odd value, `--`, an extra argument) is null.
 */
export function parseArgv(argv: readonly string[]): LeanCommand | null {
  const words: string[] = [];
  const cmd: LeanCommand = { command: "list", home: undefined, json: false, filter: {}, target: undefined, pem: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("-")) {
      words.push(a);
      continue;
    }
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const flag = eq === -1 ? a : a.slice(0, eq);
    const value = (): string | null => {
      const v = eq === -1 ? argv[++i] : a.slice(eq + 1);
      return v === undefined || v === "" || v.startsWith("-") ? null : v;
    };
    const command = words[0];
    if (flag === "--json" && eq === -1) cmd.json = true;
    else if (flag === "--home") {
      const v = value();
      if (v === null) return null;
      cmd.home = v;
    } else if (flag === "--status" && command === "list") {
      const v = value();
      if (v === null || !STATUSES.includes(v)) return null;
      cmd.filter.status = v as CertificateStatus;
    } else if (flag === "--expiring" && command === "list") {
      const v = value();
      if (v === null || !/^\d{1,6}$/.test(v)) return null;
      cmd.filter.expiringDays = Number(v);
    } else if (flag === "--pem" && eq === -1 && command === "show") cmd.pem = true;
    else return null;
  }
  if (words[0] === "list" && words.length === 1) return cmd;
  if (words[0] === "show" && words.length === 2 && words[1] !== "") return { ...cmd, command: "show", target: words[1] };
  return null;
}
