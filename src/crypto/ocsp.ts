// OCSP (RFC 6960) messages: reading requests (with @peculiar/asn1-ocsp's schemas, the family
// @peculiar/x509 is built on), writing responses (in DER directly, for speed), and the policy:
// which hash algorithms a CertID may use, how a response is signed, what times it carries.
import { createHash } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { id_pkix_ocsp_basic, id_pkix_ocsp_nonce, OCSPRequest } from "@peculiar/asn1-ocsp";
import { CrlReason } from "./crl-reason.js";
import { concat, generalizedTime, octets, oid, seq, tlv } from "./der.js";
import { CryptoError } from "./errors.js";
import { readLeanOcspRequest } from "./ocsp-request.js";
import { serialHex } from "./serial.js";

/** OCSPResponseStatus (RFC 6960 4.2.1). 4 is not used. */
export enum OcspResponseStatus {
  successful = 0,
  malformedRequest = 1,
  internalError = 2,
  tryLater = 3,
  sigRequired = 5,
  unauthorized = 6,
}

/** Hash algorithms a CertID may name. SHA-1 is what OpenSSL, nginx and Apache send by default (RFC 5019 2.1.1). */
const CERT_ID_HASHES: Record<string, "sha1" | "sha256" | "sha384" | "sha512"> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** One certificate asked about: the CertID as sent (echoed verbatim in the answer) and its parts. */
export interface OcspCertId {
  hash: "sha1" | "sha256" | "sha384" | "sha512";
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  /** Lowercase hex, as the ledger stores serials. */
  serial: string;
  /** The CertID's DER, echoed in the SingleResponse. */
  readonly der: Uint8Array;
}

export interface OcspRequestInfo {
  certIds: OcspCertId[];
  /** The id-pkix-ocsp-nonce value (the extension's OCTET STRING content), when the client sent one. */
  nonce: Uint8Array | null;
}

/** A request is at most a few hundred bytes; anything near this is not an OCSP client talking. */
export const MAX_OCSP_REQUEST_BYTES = 16 * 1024;
/** RFC 8954 2.1: a nonce is 1 to 32 octets. Longer ones are refused rather than echoed. */
const MAX_NONCE_BYTES = 32;
/** Bounds the work one request can ask for; clients ask about one certificate. */
const MAX_CERT_IDS = 16;

/** Parses a DER OCSPRequest (the common shape without the schema library); throws CryptoError("malformed") for anything that is not one we can answer. */
export function readOcspRequest(der: Uint8Array): OcspRequestInfo {
  if (der.length === 0 || der.length > MAX_OCSP_REQUEST_BYTES) throw new CryptoError("malformed", `an OCSP request of ${der.length} bytes`);
  const lean = readLeanOcspRequest(der);
  if (!lean) return readOcspRequestWithSchema(der);
  if (lean.certIds.length === 0 || lean.certIds.length > MAX_CERT_IDS) throw new CryptoError("malformed", `an OCSP request for ${lean.certIds.length} certificates`);
  return { certIds: lean.certIds, nonce: lean.nonceExtnValue && nonceValue(lean.nonceExtnValue) };
}

/** The same, through @peculiar/asn1-ocsp: every shape RFC 6960 allows (exported for the tests that compare both). */
export function readOcspRequestWithSchema(der: Uint8Array): OcspRequestInfo {
  let request: OCSPRequest;
  try {
    request = AsnConvert.parse(der, OCSPRequest);
  } catch (e) {
    throw new CryptoError("malformed", `not a DER OCSPRequest (${(e as Error).message.slice(0, 80)})`);
  }
  const list = request.tbsRequest.requestList;
  if (list.length === 0 || list.length > MAX_CERT_IDS) throw new CryptoError("malformed", `an OCSP request for ${list.length} certificates`);
  const certIds = list.map(({ reqCert }) => {
    const hash = CERT_ID_HASHES[reqCert.hashAlgorithm.algorithm];
    if (!hash) throw new CryptoError("unsupported", `CertID hash algorithm ${reqCert.hashAlgorithm.algorithm}`);
    return {
      hash,
      issuerNameHash: new Uint8Array(reqCert.issuerNameHash.buffer),
      issuerKeyHash: new Uint8Array(reqCert.issuerKeyHash.buffer),
      serial: serialHex(new Uint8Array(reqCert.serialNumber)),
      der: new Uint8Array(AsnConvert.serialize(reqCert)),
    };
  });
  let nonce: Uint8Array | null = null;
  for (const ext of request.tbsRequest.requestExtensions ?? []) {
    if (ext.extnID !== id_pkix_ocsp_nonce) continue;
    nonce = nonceValue(new Uint8Array(ext.extnValue.buffer));
  }
  return { certIds, nonce };
}

/**
 * RFC 6960 says the nonce extension's value is an OCTET STRING; OpenSSL before 1.1 and some
 * clients put the raw bytes there instead. Accept both, answer with what was sent (RFC 8954).
 */
function nonceValue(extnValue: Uint8Array): Uint8Array {
  if (extnValue.length > MAX_NONCE_BYTES + 2) throw new CryptoError("malformed", `an OCSP nonce of ${extnValue.length} bytes`);
  return extnValue;
}

/** What identifies an issuer in a CertID, for each hash a client may use. */
export class OcspIssuer {
  private readonly hashes = new Map<string, { name: Buffer; key: Buffer }>();

  /**
   * @param subjectDer the issuer's subject Name, DER
   * @param publicKeyBits the issuer's subjectPublicKey BIT STRING content, without the unused-bits octet (RFC 6960 4.1.1)
   */
  constructor(
    private readonly subjectDer: Uint8Array,
    private readonly publicKeyBits: Uint8Array,
  ) {}

  /** The issuer named by a DER certificate (the CA, or a delegated responder for its key hash). */
  static fromCertificate(der: Uint8Array): OcspIssuer {
    const tbs = AsnConvert.parse(der, Certificate).tbsCertificate;
    return new OcspIssuer(new Uint8Array(AsnConvert.serialize(tbs.subject)), new Uint8Array(tbs.subjectPublicKeyInfo.subjectPublicKey));
  }

  /** True when `id` names this issuer (hashes compared for the algorithm the client chose). */
  issued(id: OcspCertId): boolean {
    let h = this.hashes.get(id.hash);
    if (!h) {
      h = { name: createHash(id.hash).update(this.subjectDer).digest(), key: createHash(id.hash).update(this.publicKeyBits).digest() };
      this.hashes.set(id.hash, h);
    }
    return h.name.equals(id.issuerNameHash) && h.key.equals(id.issuerKeyHash);
  }

  /** SHA-1 of the public key: ResponderID byKey (RFC 6960 4.2.1). */
  keyHash(): Uint8Array {
    return createHash("sha1").update(this.publicKeyBits).digest();
  }
}

export type OcspCertStatus =
  | { status: "good" }
  | { status: "revoked"; revokedAt: Date; reason: CrlReason }
  | { status: "unknown" };

export interface OcspSingleAnswer {
  certId: OcspCertId;
  status: OcspCertStatus;
  thisUpdate: Date;
  /** When a newer answer will be available; clients and nginx's ssl_ocsp_cache keep the answer until then. */
  nextUpdate: Date;
}

/** Signs with the CA key or a delegated responder key, whatever holds it. */
export interface OcspSigner {
  /** DER AlgorithmIdentifier of the signature this signer makes. */
  readonly algorithm: Uint8Array;
  /** A signature over `data`, in the form X.509 carries in its BIT STRING (ECDSA as DER SEQUENCE {r, s}). */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export interface OcspResponseParams {
  /** Each SingleResponse, as data or already encoded (encodeSingleResponse: a responder keeps them per serial). */
  answers: readonly (OcspSingleAnswer | Uint8Array)[];
  signer: OcspSigner;
  /** SHA-1 of the signing key's public key bits (OcspIssuer.keyHash() of the responder). */
  responderKeyHash: Uint8Array;
  /** The signer's certificate, sent so clients can find and check it (RFC 6960 4.2.2.2). Default: none. */
  responderCertificate?: Uint8Array;
  /** Echoed as the id-pkix-ocsp-nonce extension. Default: none. */
  nonce?: Uint8Array | null;
  /** Default: now. */
  producedAt?: Date;
}

/**
 * A successful OCSPResponse carrying a signed BasicOCSPResponse (RFC 6960 4.2.1), encoded
 * directly in DER: the schema library costs about 0.3 ms a response, ten times the signature,
 * and a responder answering Apache (a fresh nonce every time) signs every response. The
 * requests are still read by the library; the tests check every answer with openssl ocsp.
 */
export async function createOcspResponse(p: OcspResponseParams): Promise<Uint8Array> {
  const tbs = seq(
    tlv(0xa2, octets(p.responderKeyHash)), // ResponderID byKey [2] EXPLICIT KeyHash
    generalizedTime(wholeSeconds(p.producedAt ?? new Date())),
    seq(...p.answers.map((a) => (a instanceof Uint8Array ? a : encodeSingleResponse(a)))),
    ...(p.nonce ? [tlv(0xa1, seq(seq(oid(id_pkix_ocsp_nonce), octets(p.nonce))))] : []), // responseExtensions [1] EXPLICIT
  );
  const signature = await p.signer.sign(tbs);
  const basic = seq(
    tbs,
    p.signer.algorithm,
    tlv(0x03, concat([new Uint8Array([0]), signature])),
    ...(p.responderCertificate ? [tlv(0xa0, seq(p.responderCertificate))] : []),
  );
  return seq(tlv(0x0a, new Uint8Array([OcspResponseStatus.successful])), tlv(0xa0, seq(oid(id_pkix_ocsp_basic), octets(basic))));
}

/** An unsuccessful OCSPResponse: only the status, no responseBytes, unsigned (RFC 6960 2.3). */
export function ocspErrorResponse(status: Exclude<OcspResponseStatus, OcspResponseStatus.successful>): Uint8Array {
  return seq(tlv(0x0a, new Uint8Array([status])));
}

/** One SingleResponse in DER: what does not change between answers about a serial until its status does. */
export function encodeSingleResponse(a: OcspSingleAnswer): Uint8Array {
  return seq(
    a.certId.der, // echoed as the client sent it
    certStatus(a.status),
    generalizedTime(wholeSeconds(a.thisUpdate)),
    tlv(0xa0, generalizedTime(wholeSeconds(a.nextUpdate))), // nextUpdate [0] EXPLICIT
  );
}

/** CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }. */
function certStatus(s: OcspCertStatus): Uint8Array {
  switch (s.status) {
    case "good":
      return tlv(0x80, new Uint8Array(0));
    case "unknown":
      return tlv(0x82, new Uint8Array(0));
    case "revoked":
      return tlv(0xa1, [
        generalizedTime(wholeSeconds(s.revokedAt)),
        // As in the CRL (RFC 5280 5.3.1): no reason rather than "unspecified". [0] EXPLICIT CRLReason.
        ...(s.reason === CrlReason.unspecified ? [] : [tlv(0xa0, tlv(0x0a, new Uint8Array([s.reason])))]),
      ]);
  }
}

/** GeneralizedTime in OCSP must not carry fractions of a second here: DER allows them, many parsers do not. */
function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** The DER AlgorithmIdentifier for a signature OID: RSA ones carry NULL parameters, ECDSA ones none (RFC 5758 3.2). */
export function signatureAlgorithmIdentifier(signatureOid: string): Uint8Array {
  return signatureOid.startsWith("1.2.840.113549.") ? seq(oid(signatureOid), new Uint8Array([0x05, 0x00])) : seq(oid(signatureOid));
}
