// The plain-HTTP front door: the protocols OCSP and CRL clients speak (RFC 6960 appendix A,
// RFC 5019), the root, /health and /metrics. Each route parses, calls the serving authority
// once, and renders; nothing a client sends can throw past `handle`.
import type { IncomingMessage, ServerResponse } from "node:http";
import { internalErrorResponse, malformedAnswer, MAX_OCSP_REQUEST_BYTES, type OcspAnswer, tryLaterResponse } from "../ca/ocsp-responder.js";
import type { ServingAuthority } from "../ca/serving.js";
import type { Metrics } from "./metrics.js";
import { HttpError, isLedgerOutcomeUnknown, isLedgerUnavailable, ledgerOutcomeUnknown, ledgerUnavailable, readBody, send, sendJsonError, shorten } from "./responses.js";

export interface RouteContext {
  service: ServingAuthority;
  metrics: Metrics;
  /** One line a request. */
  log: (line: string) => void;
  now: () => Date;
  rssBytes: () => number;
}

/** Extra fields for the request's log line. */
type Notes = Record<string, string>;

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const ROUTES = new Set(["/ocsp", "/crl.der", "/crl.pem", "/ca.pem", "/ca.der", "/health", "/metrics"]);

export function createRequestHandler(ctx: RouteContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    const notes: Notes = {};
    const path = (req.url ?? "/").split("?")[0]!;
    // A root rotation's generations (/crl-G2.der, /ca-G2.der) count as the route they stand beside.
    const generational = /^\/(crl|ca)-G[1-9][0-9]{0,3}\.der$/.exec(path);
    const route = path === "/" || path.startsWith("/ocsp/") ? "/ocsp" : ROUTES.has(path) ? path : generational ? `/${generational[1]}.der` : "other";
    res.on("finish", () => {
      const ms = performance.now() - started;
      ctx.metrics.request(route, res.statusCode);
      const extra = Object.entries(notes).map(([k, v]) => ` ${k}=${v}`).join("");
      const peer = req.socket.remoteAddress ?? "unix";
      ctx.log(`${new Date().toISOString()} ${peer} ${req.method} ${route === "other" ? shorten(path) : route} ${res.statusCode} ${res.getHeader("content-length") ?? 0}B ${ms.toFixed(1)}ms${extra}`);
    });
    dispatch(ctx, req, res, path, route, notes).catch((e: unknown) => {
      if (e instanceof HttpError) return sendJsonError(res, e);
      notes.error = JSON.stringify(((e as Error)?.message ?? String(e)).slice(0, 200));
      if (isLedgerUnavailable(e)) {
        notes.code = "LEDGER_UNAVAILABLE";
        // RFC 6960 2.3 "tryLater": the responder is there but cannot answer now; clients retry or ask another node.
        if (route === "/ocsp") return send(res, 503, "application/ocsp-response", tryLaterResponse(), { "retry-after": "1" });
        return sendJsonError(res, ledgerUnavailable(e));
      }
      if (isLedgerOutcomeUnknown(e)) {
        notes.code = "LEDGER_OUTCOME_UNKNOWN";
        if (route !== "/ocsp") return sendJsonError(res, ledgerOutcomeUnknown(e));
      }
      if (route === "/ocsp") return send(res, 500, "application/ocsp-response", internalErrorResponse());
      sendJsonError(res, new HttpError(500, "INTERNAL", "the CA could not answer; see the server's log"));
    });
  };
}

async function dispatch(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, path: string, route: string, notes: Notes): Promise<void> {
  const method = req.method ?? "GET";
  if (route === "/ocsp") {
    if (method === "POST" && (path === "/" || path === "/ocsp")) return ocspPost(ctx, req, res, notes);
    if ((method === "GET" || method === "HEAD") && path.startsWith("/ocsp/")) return ocspGet(ctx, res, path.slice("/ocsp/".length), notes);
    if (path === "/") throw new HttpError(404, "NOT_FOUND", "nothing here; OCSP is at /ocsp, the CRL at /crl.der and /crl.pem, the root at /ca.pem");
    throw new HttpError(405, "METHOD_NOT_ALLOWED", "OCSP takes POST /ocsp (application/ocsp-request) or GET /ocsp/{base64 request}", { allow: "GET, HEAD, POST" });
  }
  if (route === "other") throw new HttpError(404, "NOT_FOUND", "nothing here; OCSP is at /ocsp, the CRL at /crl.der and /crl.pem, the root at /ca.pem");
  if (method !== "GET" && method !== "HEAD") throw new HttpError(405, "METHOD_NOT_ALLOWED", `${path} takes GET`, { allow: "GET, HEAD" });
  const now = ctx.now();
  switch (route) {
    case "/health": {
      const ok = await ctx.service.ledgerReachable();
      const crl = ok ? await ctx.service.currentCrl() : null;
      const body = {
        status: ok ? "ok" : "unavailable",
        ledger: ok,
        crl: crl && { number: crl.number, nextUpdate: crl.nextUpdate.toISOString(), secondsLeft: Math.floor((crl.nextUpdate.getTime() - now.getTime()) / 1000) },
      };
      return send(res, ok ? 200 : 503, "application/json", JSON.stringify(body) + "\n", { "cache-control": "no-store" });
    }
    case "/metrics":
      return send(res, 200, "text/plain; version=0.0.4; charset=utf-8", ctx.metrics.render(await ctx.service.figures(now), now, ctx.rssBytes()), { "cache-control": "no-store" });
    case "/ca.pem":
      return send(res, 200, "application/x-pem-file", await ctx.service.rootPem(), { "cache-control": "max-age=3600" });
    case "/ca.der": {
      // RFC 5280 4.2.2.1: the caIssuers URI serves one DER certificate as application/pkix-cert.
      const der = await ctx.service.rootDer(path);
      if (!der) throw new HttpError(404, "NOT_FOUND", `${path}: this CA trusts no root of that generation`);
      return send(res, 200, "application/pkix-cert", der, { "cache-control": "max-age=3600" });
    }
    default: {
      const crl = await ctx.service.crlAt(path);
      if (!crl) throw new HttpError(404, "NOT_FOUND", path === route ? "this CA has no CRL yet" : `${path}: this CA trusts no root of that generation`);
      notes.crl = String(crl.number);
      const headers = {
        etag: crl.etag,
        "last-modified": crl.thisUpdate.toUTCString(),
        // Short: a revocation publishes a new CRL long before this one's nextUpdate.
        "cache-control": "max-age=60, no-transform",
      };
      if (req.headers["if-none-match"] === crl.etag) return send(res, 304, null, null, headers);
      return route === "/crl.der" ? send(res, 200, "application/pkix-crl", crl.der, headers) : send(res, 200, "application/x-pem-file", crl.pem, headers);
    }
  }
}

async function ocspPost(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, notes: Notes): Promise<void> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/ocsp-request") {
    req.resume();
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `an OCSP request is application/ocsp-request, not ${JSON.stringify(type.slice(0, 60)) || "nothing"}`);
  }
  const body = await readBody(req, MAX_OCSP_REQUEST_BYTES, "an OCSP request");
  const answer = await timed(ctx, () => ctx.service.answerOcsp(body, ctx.now()));
  // RFC 5019 section 5: POSTed answers are not for shared caches (they may carry a nonce).
  sendOcsp(res, answer, notes, false, ctx.now());
}

async function ocspGet(ctx: RouteContext, res: ServerResponse, encoded: string, notes: Notes): Promise<void> {
  let der: Uint8Array | null = null;
  try {
    // Clients differ on percent-encoding '+', '/' and '=' in the path (RFC 6960 A.1): accept both.
    const b64 = decodeURIComponent(encoded);
    if (b64.length <= (MAX_OCSP_REQUEST_BYTES * 4) / 3 + 4 && BASE64.test(b64)) der = new Uint8Array(Buffer.from(b64, "base64"));
  } catch {
    /* bad percent-encoding: malformed below */
  }
  const now = ctx.now();
  const answer = der ? await timed(ctx, () => ctx.service.answerOcsp(der, now)) : malformedAnswer();
  sendOcsp(res, answer, notes, true, now);
}

async function timed(ctx: RouteContext, fn: () => Promise<OcspAnswer>): Promise<OcspAnswer> {
  const t0 = performance.now();
  const answer = await fn();
  ctx.metrics.ocsp(answer.outcome, (performance.now() - t0) / 1000, answer.cached);
  return answer;
}

/** RFC 5019 section 6: max-age up to nextUpdate, ETag, Last-Modified, Expires on cacheable (GET) answers. */
function sendOcsp(res: ServerResponse, a: OcspAnswer, notes: Notes, cacheable: boolean, now: Date): void {
  notes.ocsp = a.outcome;
  if (a.serials.length) notes.serial = a.serials.map(shorten).join(",");
  if (a.cached) notes.cached = "1";
  const headers: Record<string, string> = {};
  if (cacheable && a.thisUpdate && a.nextUpdate && a.etag) {
    const maxAge = Math.max(0, Math.floor((a.nextUpdate.getTime() - now.getTime()) / 1000));
    Object.assign(headers, {
      "cache-control": `max-age=${maxAge}, public, no-transform, must-revalidate`,
      "last-modified": a.thisUpdate.toUTCString(),
      expires: a.nextUpdate.toUTCString(),
      etag: a.etag,
    });
  } else {
    headers["cache-control"] = "no-store";
  }
  send(res, 200, "application/ocsp-response", a.der, headers);
}
