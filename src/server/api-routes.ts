// The mTLS API's routes under /v1/: each request is parsed and validated here, its caller
// identified by the API authority from the TLS client certificate, one authority call made,
// and the answer rendered as JSON. Errors are `{error: {code, message}}` with a 4xx status;
// nothing a client sends can throw past the handler.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { AccessDenied, type ApiAuthority, type Caller, type IssueRequest, type PeerCertificate } from "../ca/api.js";
import { PkiError } from "../ca/errors.js";
import type { CrlResult } from "../ca/revocation.js";
import { CrlReason, REVOCATION_REASONS, type CertificateStatus } from "../ca/views.js";
import type { Metrics } from "./metrics.js";
import { HttpError, isLedgerOutcomeUnknown, isLedgerUnavailable, ledgerOutcomeUnknown, ledgerUnavailable, readBody, refuseBody, sendJson, sendJsonError, shorten } from "./responses.js";

export interface ApiRouteContext {
  api: ApiAuthority;
  metrics: Metrics;
  log: (line: string) => void;
  now: () => Date;
  /** Called after a request published a CRL (to run the crl hook). */
  onCrlPublished: (crl: CrlResult) => void | Promise<void>;
}

/** A CSR is a few kilobytes; the largest valid request body is well under this. */
export const MAX_API_BODY_BYTES = 64 * 1024;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 500;
const STATUSES: readonly CertificateStatus[] = ["valid", "expired", "revoked", "superseded"];

type Route = "/v1/certificates" | "/v1/certificates/{name}" | "/v1/certificates/{name}/revoke" | "/v1/renew" | "other";

export function createApiHandler(ctx: ApiRouteContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    const notes: Record<string, string> = {};
    const url = parseTarget(req.url);
    const { route, name } = url ? match(url.pathname) : { route: "other" as const, name: null };
    res.on("finish", () => {
      ctx.metrics.request(route, res.statusCode);
      const extra = Object.entries(notes).map(([k, v]) => ` ${k}=${v}`).join("");
      ctx.log(`${new Date().toISOString()} ${req.socket.remoteAddress ?? "?"} ${req.method} ${route === "other" ? shorten(url?.pathname ?? req.url ?? "") : route} ${res.statusCode} ${res.getHeader("content-length") ?? 0}B ${(performance.now() - started).toFixed(1)}ms${extra}`);
    });
    const handled = url ? dispatch(ctx, req, res, route, name, url.searchParams, notes) : Promise.reject(new HttpError(400, "BAD_REQUEST", "the request target is not a path"));
    handled.catch((e: unknown) => {
      const error = asHttpError(e, notes);
      notes.code = error.code;
      // Refused before or while its body was read.
      sendJsonError(res, refuseBody(req, error));
    });
  };
}

/** The request target as a URL; null when it is not one ("//[" makes the URL parser throw). */
function parseTarget(target: string | undefined): URL | null {
  try {
    return new URL(target ?? "/", "https://api.invalid");
  } catch {
    return null;
  }
}

function match(path: string): { route: Route; name: string | null } {
  if (path === "/v1/certificates") return { route: path, name: null };
  if (path === "/v1/renew") return { route: path, name: null };
  const m = /^\/v1\/certificates\/([^/]+)(\/revoke)?$/.exec(path);
  if (!m) return { route: "other", name: null };
  let name: string;
  try {
    name = decodeURIComponent(m[1]!);
  } catch {
    return { route: "other", name: null };
  }
  return { route: m[2] ? "/v1/certificates/{name}/revoke" : "/v1/certificates/{name}", name };
}

async function dispatch(ctx: ApiRouteContext, req: IncomingMessage, res: ServerResponse, route: Route, name: string | null, query: URLSearchParams, notes: Record<string, string>): Promise<void> {
  const now = ctx.now();
  // Every request, on every connection, is checked against the ledger as it is now.
  const caller = await ctx.api.caller(peerOf(req), now);
  notes.caller = JSON.stringify(caller.record.name);
  const method = req.method ?? "GET";
  const allow = (methods: string) => {
    if (!methods.split(", ").includes(method)) throw new HttpError(405, "METHOD_NOT_ALLOWED", `${route} takes ${methods}`, { allow: methods });
  };
  switch (route) {
    case "/v1/certificates":
      allow("GET, POST");
      if (method === "GET") return sendJson(res, 200, await ctx.api.list(caller, now, listRequest(query)));
      return issue(ctx, req, res, caller, now);
    case "/v1/certificates/{name}":
      allow("GET");
      return sendJson(res, 200, await ctx.api.show(caller, now, name!));
    case "/v1/certificates/{name}/revoke": {
      allow("POST");
      const body = fields(await jsonBody(req), { reason: "string?" });
      const reason = revocationReason(body.reason);
      const result = await ctx.api.revoke(caller, now, name!, reason);
      notes.revoked = String(result.revoked.length);
      sendJson(res, 200, { revoked: result.revoked.map((r) => r.view), crl: { number: result.crl.number, nextUpdate: result.crl.nextUpdate } });
      // After the answer: the caller learns of the revocation whether or not the hook works (its failure is logged).
      await Promise.resolve(ctx.onCrlPublished(result.crl)).catch((e: unknown) => ctx.log(`${new Date().toISOString()} crl hook failed: ${(e as Error).message}`));
      return;
    }
    case "/v1/renew": {
      allow("POST");
      const body = fields(await jsonBody(req), { csr: "string", name: "string?" });
      const renewed = await ctx.api.renew(caller, now, csrBytes(body.csr), body.name as string | undefined);
      notes.serial = renewed.certificate.serial;
      return sendJson(res, 201, renewed, { location: `/v1/certificates/${encodeURIComponent(renewed.certificate.name)}` });
    }
    default:
      throw new HttpError(404, "NOT_FOUND", "no such route; the API has /v1/certificates, /v1/certificates/{name}, /v1/certificates/{name}/revoke and /v1/renew");
  }
}

async function issue(ctx: ApiRouteContext, req: IncomingMessage, res: ServerResponse, caller: Caller, now: Date): Promise<void> {
  const body = fields(await jsonBody(req), { name: "string", profile: "string", csr: "string", hosts: "string[]?", days: "integer?" });
  if (body.profile !== "client" && body.profile !== "server") throw new HttpError(400, "BAD_REQUEST", `"profile" is "client" or "server", not ${JSON.stringify(String(body.profile).slice(0, 40))}`);
  const request: IssueRequest = {
    name: body.name as string, profile: body.profile, csr: csrBytes(body.csr),
    ...(body.hosts !== undefined ? { hosts: body.hosts as string[] } : {}),
    ...(body.days !== undefined ? { days: body.days as number } : {}),
  };
  const issued = await ctx.api.issue(caller, now, request);
  sendJson(res, 201, issued, { location: `/v1/certificates/${encodeURIComponent(issued.certificate.name)}` });
}

function peerOf(req: IncomingMessage): PeerCertificate {
  const socket = req.socket as TLSSocket;
  const cert = socket.getPeerCertificate?.(false);
  const present = cert && cert.raw;
  return {
    der: present ? new Uint8Array(cert.raw) : null,
    serial: present ? cert.serialNumber : null,
    chainError: socket.authorized ? null : String(socket.authorizationError ?? "not verified"),
  };
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `the body must be application/json, not ${JSON.stringify(type.slice(0, 60)) || "nothing"}`);
  }
  const bytes = await readBody(req, MAX_API_BODY_BYTES, "a request body");
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as unknown;
  } catch (e) {
    throw new HttpError(400, "BAD_JSON", `the body is not valid UTF-8 JSON (${(e as Error).message.slice(0, 80)})`);
  }
}

type FieldType = "string" | "string?" | "string[]?" | "integer?";

/** The body as an object holding exactly the fields named (optional ones may be missing), each of its type. */
function fields<K extends string>(body: unknown, spec: Record<K, FieldType>): Record<K, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "BAD_REQUEST", "the body must be a JSON object");
  const known = Object.keys(spec);
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length) throw new HttpError(400, "UNKNOWN_FIELD", `unknown field ${JSON.stringify(unknown[0]!.slice(0, 40))}; this request takes ${known.join(", ")}`);
  const out = body as Record<K, unknown>;
  for (const [key, type] of Object.entries(spec) as [K, FieldType][]) {
    const v = out[key];
    if (v === undefined && type.endsWith("?")) continue;
    const ok =
      type.startsWith("string[]") ? Array.isArray(v) && v.length > 0 && v.length <= 100 && v.every((x) => typeof x === "string")
      : type.startsWith("integer") ? Number.isSafeInteger(v)
      : typeof v === "string" && v.length > 0;
    if (!ok) throw new HttpError(400, "BAD_REQUEST", `"${key}" must be ${type.startsWith("string[]") ? "a list of 1 to 100 strings" : type.startsWith("integer") ? "a whole number" : "a non-empty string"}`);
  }
  return out;
}

function csrBytes(value: unknown): Uint8Array {
  const pem = value as string;
  if (!/^\s*-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(pem)) throw new HttpError(400, "BAD_CSR", `"csr" must be a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)`);
  return new TextEncoder().encode(pem);
}

function revocationReason(value: unknown): CrlReason {
  if (value === undefined) return CrlReason.unspecified;
  const reason = REVOCATION_REASONS.find((r) => r === value && r !== "removeFromCRL");
  if (!reason) throw new HttpError(400, "BAD_REASON", `"reason" is one of ${REVOCATION_REASONS.filter((r) => r !== "removeFromCRL").join(", ")}`);
  return CrlReason[reason];
}

function listRequest(q: URLSearchParams): { status?: CertificateStatus; after?: string; limit: number } {
  const status = q.get("status");
  const after = q.get("after");
  const limit = q.get("limit");
  for (const k of q.keys()) if (!["status", "after", "limit"].includes(k)) throw new HttpError(400, "UNKNOWN_FIELD", `unknown parameter ${JSON.stringify(k.slice(0, 40))}; the list takes status, after, limit`);
  if (status !== null && !STATUSES.includes(status as CertificateStatus)) throw new HttpError(400, "BAD_REQUEST", `status is one of ${STATUSES.join(", ")}`);
  if (after !== null && !/^\d{1,15}$/.test(after)) throw new HttpError(400, "BAD_CURSOR", `"after" is the "next" value of the previous page`);
  if (limit !== null && !(/^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= MAX_PAGE)) throw new HttpError(400, "BAD_REQUEST", `limit is a whole number from 1 to ${MAX_PAGE}`);
  return { ...(status ? { status: status as CertificateStatus } : {}), ...(after ? { after } : {}), limit: limit ? Number(limit) : DEFAULT_PAGE };
}

/** Which HTTP status an authority error is: its kind decides, the code travels unchanged. */
function asHttpError(e: unknown, notes: Record<string, string>): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof AccessDenied) return new HttpError(e.reason === "forbidden" ? 403 : 401, e.code, e.hint ? `${e.message}; ${e.hint}` : e.message);
  if (e instanceof PkiError) {
    const status = { usage: 400, "not-found": 404, conflict: 409, invalid: 422, secret: 500, storage: 503 }[e.kind];
    return new HttpError(status, e.code, e.hint ? `${e.message}; ${e.hint}` : e.message);
  }
  notes.error = JSON.stringify(((e as Error)?.message ?? String(e)).slice(0, 200));
  // Matched by name, as the CLI does: the server imports only the authority.
  const { name, code } = (e ?? {}) as { name?: string; code?: string };
  if (isLedgerUnavailable(e)) return ledgerUnavailable(e);
  if (isLedgerOutcomeUnknown(e)) return ledgerOutcomeUnknown(e);
  if (name === "LedgerError" && code === "busy") return new HttpError(503, "LEDGER_LOCKED", "the ledger is busy; try again", { "retry-after": "1" });
  if (name === "LedgerError" && code === "conflict") return new HttpError(409, "LEDGER_CONFLICT", "the ledger refused the change as a duplicate; try again");
  return new HttpError(500, "INTERNAL", "the CA could not answer; see the server's log");
}
