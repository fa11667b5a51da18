// What both front doors (plain HTTP and the mTLS API) send: bodies with their length, JSON
// errors `{error: {code, message}}`, and request bodies read within a bound.
import type { IncomingMessage, ServerResponse } from "node:http";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The database behind the ledger (PostgreSQL) cannot be reached: 503, so that clients and load
 * balancers retry or go to another node; the engine reconnects by itself when it is back.
 */
export function ledgerUnavailable(e: Error): HttpError {
  return new HttpError(503, "LEDGER_UNAVAILABLE", e.message, { "retry-after": "1" });
}

/**
 * The connection was lost during COMMIT: the change may be recorded. 500 without retry-after,
 * because a blind retry can do it twice or, for a self-renew, find the old certificate superseded.
 */
export function ledgerOutcomeUnknown(e: Error & { hint?: string }): HttpError {
  return new HttpError(500, "LEDGER_OUTCOME_UNKNOWN", e.hint ? `${e.message}; ${e.hint}` : e.message);
}

/** True for the ledger engine's "lost during COMMIT" error. */
export function isLedgerOutcomeUnknown(e: unknown): e is Error {
  const { name, code } = (e ?? {}) as { name?: string; code?: string };
  return name === "LedgerError" && code === "outcome-unknown";
}

/** True for the ledger engine's "database unreachable" error (matched by name: the server imports only the authority). */
export function isLedgerUnavailable(e: unknown): e is Error {
  const { name, code } = (e ?? {}) as { name?: string; code?: string };
  return name === "LedgerError" && code === "unavailable";
}

/**
 * Past a body's limit, this much more is read and dropped, so that a client still sending sees
 * the 413 instead of a connection reset; a body larger still has its connection cut.
 */
const DISCARD_BYTES = 1024 * 1024;

/** Reads at most `limit` bytes; a larger body is refused with 413. */
export function readBody(req: IncomingMessage, limit: number, what: string): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) return Promise.reject(refuseBody(req, new HttpError(413, "TOO_LARGE", `${what} is at most ${limit} bytes, not ${declared}`)));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners("data");
        reject(refuseBody(req, new HttpError(413, "TOO_LARGE", `${what} is at most ${limit} bytes`)));
      } else chunks.push(c);
    });
    req.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

const refused = new WeakSet<IncomingMessage>();
const invited = new WeakSet<IncomingMessage>();

/**
 * Stops reading a refused body (once; nothing when it was read whole). A client that asked
 * `Expect: 100-continue` and was not invited (see `inviteBodiesUpTo`) sends nothing more: the
 * connection closes after the answer. Others may be mid-upload: the rest is dropped, up to
 * DISCARD_BYTES, so that they read the answer; past that the connection is cut.
 */
export function refuseBody(req: IncomingMessage, e: HttpError): HttpError {
  if (req.complete || refused.has(req)) return e;
  refused.add(req);
  if (/100-continue/i.test(req.headers.expect ?? "") && !invited.has(req)) {
    e.headers.connection = "close";
    return e;
  }
  let dropped = 0;
  req.on("data", (c: Buffer) => {
    dropped += c.length;
    if (dropped > DISCARD_BYTES) req.socket.destroy();
  });
  req.resume();
  return e;
}

/** Answers `Expect: 100-continue` with 100 only for bodies within `limit`; a larger one is refused unsent. */
export function inviteBodiesUpTo(limit: number, handler: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!(Number(req.headers["content-length"] ?? 0) > limit)) {
      invited.add(req);
      res.writeContinue();
    }
    handler(req, res);
  };
}

export function send(res: ServerResponse, status: number, type: string | null, body: string | Uint8Array | null, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  const bytes = body === null ? null : typeof body === "string" ? Buffer.from(body) : body;
  for (const [k, v] of Object.entries({ ...(type ? { "content-type": type } : {}), "content-length": String(bytes?.length ?? 0), ...headers })) res.setHeader(k, v);
  res.writeHead(status);
  res.end(res.req.method === "HEAD" ? undefined : bytes ?? undefined);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, "application/json", JSON.stringify(value) + "\n", { "cache-control": "no-store", ...headers });
}

export function sendJsonError(res: ServerResponse, e: HttpError): void {
  send(res, e.status, "application/json", JSON.stringify({ error: { code: e.code, message: e.message } }) + "\n", e.headers);
}

/** Bounded, printable, for the log line. */
export function shorten(s: string): string {
  const clean = s.replace(/[^\x21-\x7e]/g, "?");
  return clean.length > 40 ? clean.slice(0, 39) + "…" : clean;
}
