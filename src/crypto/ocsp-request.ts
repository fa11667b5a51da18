// A lean reader for the OCSP requests real clients send (OpenSSL, nginx, Apache, browsers):
// unsigned, version 1, no requestorName, CertIDs with SHA-1/SHA-2 and NULL or absent parameters,
// request extensions (the nonce). @peculiar/asn1-ocsp parsing such a request cost more than the
// signature of the answer; this walks the DER once. Anything else (signed requests, per-CertID
// extensions, BER, unknown algorithms) is left to the library: null means "not this shape",
// never "malformed", so both readers agree on every verdict.
import { id_pkix_ocsp_nonce } from "@peculiar/asn1-ocsp";
import { oid } from "./der.js";
import { serialHex } from "./serial.js";

/** The parts of a CertID and request the responder uses (see OcspCertId in ocsp.ts). */
export interface LeanRequest {
  certIds: { hash: "sha1" | "sha256" | "sha384" | "sha512"; issuerNameHash: Uint8Array; issuerKeyHash: Uint8Array; serial: string; der: Uint8Array }[];
  /** The nonce extension's extnValue content, or null. */
  nonceExtnValue: Uint8Array | null;
}

const HASH_OIDS: [Buffer, "sha1" | "sha256" | "sha384" | "sha512"][] = [
  [Buffer.from(oid("1.3.14.3.2.26")), "sha1"],
  [Buffer.from(oid("2.16.840.1.101.3.4.2.1")), "sha256"],
  [Buffer.from(oid("2.16.840.1.101.3.4.2.2")), "sha384"],
  [Buffer.from(oid("2.16.840.1.101.3.4.2.3")), "sha512"],
];
const NONCE_OID = Buffer.from(oid(id_pkix_ocsp_nonce));

class NotLean extends Error {}

/** One DER element: tag, where its content starts and ends. Definite lengths only, minimal as DER wants. */
function element(b: Uint8Array, at: number, end: number, tag: number): { start: number; end: number } {
  if (at + 2 > end || b[at] !== tag) throw new NotLean();
  let len = b[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > end) throw new NotLean();
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    if (len < 0x80 || b[start] === 0) throw new NotLean(); // not minimal: not DER
    start += n;
  }
  if (start + len > end) throw new NotLean();
  return { start, end: start + len };
}

function equals(b: Uint8Array, start: number, end: number, expected: Buffer): boolean {
  return end - start === expected.length && expected.equals(b.subarray(start, end));
}

/** Reads `der` when it has the common shape; null otherwise (the caller then uses the full parser). */
export function readLeanOcspRequest(der: Uint8Array): LeanRequest | null {
  try {
    const outer = element(der, 0, der.length, 0x30);
    if (outer.end !== der.length) return null;
    const tbs = element(der, outer.start, outer.end, 0x30);
    if (tbs.end !== outer.end) return null; // optionalSignature: full parser
    const list = element(der, tbs.start, tbs.end, 0x30); // a version or requestorName first: full parser
    const certIds: LeanRequest["certIds"] = [];
    for (let at = list.start; at < list.end; ) {
      const request = element(der, at, list.end, 0x30);
      const certId = element(der, request.start, request.end, 0x30);
      if (certId.end !== request.end) return null; // singleRequestExtensions
      const alg = element(der, certId.start, certId.end, 0x30);
      const algOid = element(der, alg.start, alg.end, 0x06);
      const hash = HASH_OIDS.find(([o]) => equals(der, algOid.start - 2, algOid.end, o))?.[1];
      if (!hash || algOid.start - 2 !== alg.start) return null;
      if (algOid.end !== alg.end && !(alg.end - algOid.end === 2 && der[algOid.end] === 0x05 && der[algOid.end + 1] === 0)) return null;
      const nameHash = element(der, alg.end, certId.end, 0x04);
      const keyHash = element(der, nameHash.end, certId.end, 0x04);
      const serial = element(der, keyHash.end, certId.end, 0x02);
      if (serial.end !== certId.end || serial.start === serial.end || der[serial.start]! & 0x80) return null;
      certIds.push({
        hash,
        issuerNameHash: der.slice(nameHash.start, nameHash.end),
        issuerKeyHash: der.slice(keyHash.start, keyHash.end),
        serial: serialHex(der.subarray(serial.start, serial.end)),
        der: der.slice(request.start, certId.end),
      });
      at = request.end;
    }
    let nonceExtnValue: Uint8Array | null = null;
    if (list.end !== tbs.end) {
      const wrapper = element(der, list.end, tbs.end, 0xa2);
      if (wrapper.end !== tbs.end) return null;
      const exts = element(der, wrapper.start, wrapper.end, 0x30);
      if (exts.end !== wrapper.end) return null;
      for (let at = exts.start; at < exts.end; ) {
        const ext = element(der, at, exts.end, 0x30);
        const id = element(der, ext.start, ext.end, 0x06);
        // An OID whose last subidentifier is unfinished is no OID: the library refuses it.
        if (id.start === id.end || der[id.end - 1]! & 0x80) return null;
        let next = id.end;
        if (der[next] === 0x01) next = element(der, next, ext.end, 0x01).end; // critical
        const value = element(der, next, ext.end, 0x04);
        if (value.end !== ext.end) return null;
        if (equals(der, ext.start, id.end, NONCE_OID)) nonceExtnValue = der.slice(value.start, value.end);
        at = ext.end;
      }
    }
    return { certIds, nonceExtnValue };
  } catch (e) {
    if (e instanceof NotLean) return null;
    throw e;
  }
}
