// The CLI's fast path over `$PKI_HOME/serve.sock`: an HTTP/1.1 upgrade to "pki-cli/1", then
// one JSON line from the client (the command line and what the command reads of its
// surroundings) and frames from the server: [type: 1 byte][length: uint32 BE][payload].
// Imported by the tiny client that runs before anything else is loaded: node built-ins only.

export const UPGRADE = "pki-cli/1";

/** Largest request line the server reads (argv and environment are small). */
export const MAX_REQUEST_BYTES = 1 << 20;

export const FRAME = {
  /** The command starts now: from here on a lost connection means "may or may not have run". */
  accepted: 0x61,
  /** Not served here (another home, a command the server does not run): run it directly; nothing ran. */
  fallBack: 0x66,
  stdout: 0x6f,
  stderr: 0x65,
  /** The exit code, in decimal; the last frame. */
  exit: 0x78,
} as const;

export interface OutInfo {
  isTTY: boolean;
  columns?: number;
}

export interface CliRequest {
  argv: string[];
  cwd: string;
  /** The home the client found (absolute). */
  home: string;
  /** The variables commands read (PKI_*, NO_COLOR, TERM, CI, PATH); never the CA passphrase. */
  env: Record<string, string>;
  stdout: OutInfo;
  stderr: OutInfo;
}

export function frame(type: number, payload: string | Uint8Array): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits a stream into frames; call `push` with each chunk. */
export function frameReader(onFrame: (type: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending.length < 5 + length) break;
      const type = pending[0]!;
      const payload = pending.subarray(5, 5 + length);
      pending = pending.subarray(5 + length);
      onFrame(type, payload);
    }
  };
}

/** A request line as sent by a client, checked field by field (anything else is refused, never trusted). */
export function parseRequest(line: string): CliRequest | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  const r = v as Partial<CliRequest> | null;
  const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((s) => typeof s === "string");
  const out = (o: unknown): o is OutInfo => typeof o === "object" && o !== null && typeof (o as OutInfo).isTTY === "boolean" && ((o as OutInfo).columns === undefined || Number.isInteger((o as OutInfo).columns));
  if (!r || typeof r !== "object" || !strings(r.argv) || typeof r.cwd !== "string" || typeof r.home !== "string" || !out(r.stdout) || !out(r.stderr)) return null;
  if (typeof r.env !== "object" || r.env === null || !Object.values(r.env).every((s) => typeof s === "string")) return null;
  return { argv: r.argv, cwd: r.cwd, home: r.home, env: { ...r.env }, stdout: r.stdout, stderr: r.stderr };
}
