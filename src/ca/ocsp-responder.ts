// The OCSP use case: what the ledger says about a serial, as a signed RFC 6960 answer.
// Signed answers are cached per request until the ledger changes (any event) or the answer
// reaches half its lifetime, so a revocation shows in the very next response while a
// server asking again and again (nginx without ssl_ocsp_cache) costs one signature.
import { createHash } from "node:crypto";
import { CrlReason } from "../crypto/crl-reason.js";
import { CryptoError } from "../crypto/errors.js";
import {
  createOcspResponse,
  ocspErrorResponse,
  type OcspCertStatus,
  OcspIssuer,
  OcspResponseStatus,
  type OcspSigner,
  readOcspRequest,
} from "../crypto/ocsp.js";
import type { CertificateRecord, LedgerReader } from "../ledger/ledger.js";
import type { CaCore } from "./core.js";
import { trustedRoots } from "./roots.js";

export type OcspOutcome = "good" | "revoked" | "unknown" | "mixed" | "malformed" | "unauthorized";

export interface OcspAnswer {
  der: Uint8Array;
  outcome: OcspOutcome;
  /** Serials asked about (for the request log), empty when the request did not parse. */
  serials: string[];
  /** Set on signed answers: the validity window, for HTTP caching headers. */
  thisUpdate?: Date;
  nextUpdate?: Date;
  /** Set on signed answers: the HTTP entity tag of `der`, computed once per signature, not per reply. */
  etag?: string;
  /** Answered from the cache without signing. */
  cached: boolean;
}

interface Cached {
  der: Uint8Array;
  outcome: OcspOutcome;
  serials: string[];
  thisUpdate: Date;
  nextUpdate: Date;
  etag: string;
}

export { MAX_OCSP_REQUEST_BYTES } from "../crypto/ocsp.js";

/** The answer to a request that does not parse (or never arrived whole). */
export function malformedAnswer(): OcspAnswer {
  return { der: ocspErrorResponse(OcspResponseStatus.malformedRequest), outcome: "malformed", serials: [], cached: false };
}

/** The unsigned "internalError" response, for when answering failed on the CA's side. */
export function internalErrorResponse(): Uint8Array {
  return ocspErrorResponse(OcspResponseStatus.internalError);
}

/** Bounds memory whatever clients ask; a CA with more live serials than this re-signs some. */
const MAX_CACHED = 100_000;
/**
 * thisUpdate is set this far back so that a client whose clock runs slow does not see an
 * answer from the future (OpenSSL and nginx allow 300 s of skew; RFC 5019 section 4 suggests
 * a little backdating).
 */
const BACKDATE_MS = 60_000;

/** A root the responder answers for: during a rotation's overlap, each trusted root signs for the certificates it issued. */
interface Issuer {
  serial: string;
  der: Uint8Array;
  id: OcspIssuer;
  /** ResponderID byKey: the CA signs its own answers. */
  keyHash: Uint8Array;
  signer: Promise<OcspSigner>;
}

export class OcspResponder {
  private readonly cache = new Map<string, Cached>();
  private generation = -1;
  private issuers: Issuer[];

  /**
   * @param signer the CA key
   * @param lifetimeMs nextUpdate − thisUpdate of every answer (the `ocsp-lifetime` setting)
   */
  constructor(
    private readonly core: CaCore,
    signer: OcspSigner,
    private readonly lifetimeMs: number,
  ) {
    this.issuers = [issuerOf(core.root, Promise.resolve(signer))];
  }

  /** Answers one DER OCSPRequest; never throws for anything the client sent. */
  async answer(requestDer: Uint8Array, now: Date): Promise<OcspAnswer> {
    // One snapshot for the ledger head and the statuses, so a cached answer never mixes states.
    return this.core.ledger.read(async (r) => {
      await this.followLedger(r);
      return this.answerFrom(r, requestDer, now);
    });
  }

  private async answerFrom(r: LedgerReader, requestDer: Uint8Array, now: Date): Promise<OcspAnswer> {
    // Keyed by the request's bytes: a server asking again (nginx, GET, no nonce) sends the same
    // bytes, and the answer is found without parsing anything.
    const key = Buffer.from(requestDer).toString("base64");
    const hit = this.cache.get(key);
    if (hit && now.getTime() < hit.thisUpdate.getTime() + BACKDATE_MS + this.lifetimeMs / 2) return { ...hit, cached: true };

    let request;
    try {
      request = readOcspRequest(requestDer);
    } catch (e) {
      if (e instanceof CryptoError) return malformedAnswer();
      throw e;
    }
    const serials = request.certIds.map((id) => id.serial);
    // RFC 6960 2.3: "unauthorized" when the responder cannot answer for that CA at all. One
    // response has one signer: the root the first known CertID names answers; CertIDs of
    // another root (a request mixing roots of a rotation) are "unknown".
    const issuer = request.certIds.map((id) => this.issuers.find((i) => i.id.issued(id))).find((i) => i !== undefined);
    if (!issuer) {
      return { der: ocspErrorResponse(OcspResponseStatus.unauthorized), outcome: "unauthorized", serials, cached: false };
    }
    const ours = request.certIds.map((id) => issuer.id.issued(id));
    const thisUpdate = new Date(now.getTime() - BACKDATE_MS);
    const nextUpdate = new Date(now.getTime() + this.lifetimeMs);
    const statuses: OcspCertStatus[] = [];
    for (const [i, id] of request.certIds.entries()) statuses.push(ours[i] ? await this.statusOf(r, id.serial, issuer.serial) : { status: "unknown" });
    const der = await createOcspResponse({
      answers: request.certIds.map((certId, i) => ({ certId, status: statuses[i]!, thisUpdate, nextUpdate })),
      signer: await issuer.signer,
      responderKeyHash: issuer.keyHash,
      // The signer's certificate travels with every answer, the CA's own included: Apache
      // (mod_ssl passes no certificates to OCSP_basic_verify) cannot find the signer otherwise.
      responderCertificate: issuer.der,
      nonce: request.nonce,
      producedAt: now,
    });
    const etag = `"${createHash("sha1").update(der).digest("hex")}"`;
    const kinds = new Set(statuses.map((s) => s.status));
    const outcome: OcspOutcome = kinds.size === 1 ? statuses[0]!.status : "mixed";
    // An answer to a nonce is for that request alone.
    if (!request.nonce) {
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(key, { der, outcome, serials, thisUpdate, nextUpdate, etag });
    }
    return { der, outcome, serials, thisUpdate, nextUpdate, etag, cached: false };
  }

  /** Drops every cached answer once anything was written to the ledger, by this process or another. */
  private async followLedger(r: LedgerReader): Promise<void> {
    const head = await r.headEventId();
    if (head === this.generation) return;
    this.cache.clear();
    this.generation = head;
    // A rotation or its --finish (by any process) changes which roots answer.
    const trusted = trustedRoots(await r.roots());
    if (trusted.length === 0 || trusted.map((t) => t.record.serial).join() === this.issuers.map((i) => i.serial).join()) return;
    this.issuers = trusted.map((t) => this.issuers.find((i) => i.serial === t.record.serial) ?? issuerOf(t.record, this.core.signerFor(t.record)));
  }

  private async statusOf(r: LedgerReader, serial: string, issuer: string): Promise<OcspCertStatus> {
    const rec = await r.bySerial(serial);
    // A serial another root issued is not this issuer's to vouch for (RFC 6960 2.2 "unknown").
    if (!rec || (rec.issuer !== null && rec.issuer !== issuer)) return { status: "unknown" };
    if (rec.state === "revoked") return { status: "revoked", revokedAt: new Date(rec.revokedAt!), reason: (rec.revocationReason ?? CrlReason.unspecified) as CrlReason };
    // Superseded and expired certificates are not revoked: OCSP reports revocation, not validity (RFC 6960 2.2).
    return { status: "good" };
  }
}

function issuerOf(root: CertificateRecord, signer: Promise<OcspSigner>): Issuer {
  const id = OcspIssuer.fromCertificate(root.der);
  // A signer that fails (a wrong passphrase cannot happen here: the service holds it) is reported per request, not as an unhandled rejection.
  signer.catch(() => {});
  return { serial: root.serial, der: root.der, id, keyHash: id.keyHash(), signer };
}
