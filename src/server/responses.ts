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

/** Reads at most `limit` bytes; a larger body is refused with 413 and the connection closed. */
export function readBody(req: IncomingMessage, limit: number, what: string): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new HttpError(413, "TOO_LARGE", `${what} is at most ${limit} bytes, not ${declared}`, { connection: "close" }));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new HttpError(413, "TOO_LARGE", `${what} is at most ${limit} bytes`, { connection: "close" }));
      } else chunks.push(c);
    });
    req.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on("error", reject);
  });
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
