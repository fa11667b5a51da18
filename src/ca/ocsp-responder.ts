// The OCSP use case: what the ledger says about a serial, as a signed RFC 6960 answer.
// Signed answers are cached per request until the ledger changes (any event) or the answer
// reaches half its lifetime, so a revocation shows in the very next response while a
// server asking again and again (nginx without ssl_ocsp_cache) costs one signature. Answers to
// a nonce (Apache) are signed every time, but each serial's SingleResponse is kept by the same
// rule: such an answer costs the signature and a few bytes copied, not a ledger lookup.
import { createHash } from "node:crypto";
import { CrlReason } from "../crypto/crl-reason.js";
import { CryptoError } from "../crypto/errors.js";
import {
  createOcspResponse,
  encodeSingleResponse,
  ocspErrorResponse,
  type OcspCertStatus,
  OcspIssuer,
  OcspResponseStatus,
  type OcspSigner,
  readOcspRequest,
} from "../crypto/ocsp.js";
import type { CertificateRecord, LedgerReader } from "../ledger/ledger.js";
import type { CaCore } from "./core.js";
import type { ResponderIdentity } from "./ocsp-delegate.js";
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

/** A SingleResponse in DER, for one CertID as clients send it. */
interface CachedSingle {
  der: Uint8Array;
  status: OcspCertStatus["status"];
  thisUpdate: Date;
  nextUpdate: Date;
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

/** The unsigned "tryLater" response, for when the ledger cannot be read (its database is down). */
export function tryLaterResponse(): Uint8Array {
  return ocspErrorResponse(OcspResponseStatus.tryLater);
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
  /** Keyed by the CertID's DER (hash algorithm, issuer hashes and serial). */
  private readonly singles = new Map<string, CachedSingle>();
  private generation = -1;
  private issuers: Issuer[];
  /** A delegated responder (`pki serve --ocsp-signer delegated`) and the root that issued it, which it answers for. */
  private delegate: { identity: ResponderIdentity; root: string } | null = null;

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

  /** From now on, answers about `root`'s certificates are signed by `identity` (a new delegated responder); answers signed before are dropped. */
  useDelegate(identity: ResponderIdentity, root: string): void {
    this.delegate = { identity, root };
    this.cache.clear();
    this.singles.clear();
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
    if (hit && this.fresh(hit.thisUpdate, now)) return { ...hit, cached: true };

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
    // A delegated responder answers for the root that issued it; another root of a rotation signs itself.
    const identity: ResponderIdentity =
      this.delegate?.root === issuer.serial ? this.delegate.identity : { signer: await issuer.signer, keyHash: issuer.keyHash, certificate: issuer.der, notAfter: null };
    const singles: CachedSingle[] = [];
    for (const [i, certId] of request.certIds.entries()) {
      // Only CertIDs of the signing root are kept: in a request mixing roots the others are "unknown".
      const idKey = ours[i] ? Buffer.from(certId.der).toString("latin1") : null;
      let single = idKey === null ? undefined : this.singles.get(idKey);
      if (!single || !this.fresh(single.thisUpdate, now)) {
        const status = ours[i] ? await this.statusOf(r, certId.serial, issuer.serial) : ({ status: "unknown" } as const);
        const thisUpdate = new Date(now.getTime() - BACKDATE_MS);
        // An answer is not valid past its signer's certificate (RFC 6960 4.2.2.2).
        const nextUpdate = new Date(Math.min(now.getTime() + this.lifetimeMs, identity.notAfter?.getTime() ?? Infinity));
        single = { der: encodeSingleResponse({ certId, status, thisUpdate, nextUpdate }), status: status.status, thisUpdate, nextUpdate };
        if (idKey !== null) {
          if (this.singles.size >= MAX_CACHED) this.singles.clear();
          this.singles.set(idKey, single);
        }
      }
      singles.push(single);
    }
    const der = await createOcspResponse({
      answers: singles.map((s) => s.der),
      signer: identity.signer,
      responderKeyHash: identity.keyHash,
      // The signer's certificate travels with every answer, the CA's own included: Apache
      // (mod_ssl passes no certificates to OCSP_basic_verify) cannot find the signer otherwise.
      responderCertificate: identity.certificate,
      nonce: request.nonce,
      producedAt: now,
    });
    const kinds = new Set(singles.map((s) => s.status));
    const outcome: OcspOutcome = kinds.size === 1 ? singles[0]!.status : "mixed";
    // Validity for HTTP caching: the narrowest of the answers'.
    const thisUpdate = new Date(Math.max(...singles.map((s) => s.thisUpdate.getTime())));
    const nextUpdate = new Date(Math.min(...singles.map((s) => s.nextUpdate.getTime())));
    // An answer to a nonce is for that request alone: neither cached here nor by HTTP caches (no ETag).
    if (request.nonce) return { der, outcome, serials, thisUpdate, nextUpdate, cached: false };
    const etag = `"${createHash("sha1").update(der).digest("hex")}"`;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, { der, outcome, serials, thisUpdate, nextUpdate, etag });
    return { der, outcome, serials, thisUpdate, nextUpdate, etag, cached: false };
  }

  /** Whether an answer made at `thisUpdate` may still be given: until half its lifetime has passed. */
  private fresh(thisUpdate: Date, now: Date): boolean {
    return now.getTime() < thisUpdate.getTime() + BACKDATE_MS + this.lifetimeMs / 2;
  }

  /** Drops every cached answer once anything was written to the ledger, by this process or another. */
  private async followLedger(r: LedgerReader): Promise<void> {
    const head = await r.headEventId();
    if (head === this.generation) return;
    this.cache.clear();
    this.singles.clear();
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
