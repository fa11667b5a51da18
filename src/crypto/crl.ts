import { concat, DerWriter, headerLength, octets, oid, seq, time, timeLength, tlv, uint, uintHex } from "./der.js";
import { x509 } from "./provider.js";
import type { Signer } from "./signer.js";

export { CrlReason } from "./crl-reason.js";
export { crlPem } from "./pem.js";
import { CrlReason } from "./crl-reason.js";

export interface CrlEntry {
  serial: string;
  /** A Date, or an ISO 8601 UTC time as the ledger stores it. */
  revokedAt: Date | string;
  reason: CrlReason;
}

export interface CrlParams {
  signer: Signer;
  /** Monotonically increasing CRL number (RFC 5280 5.2.3). */
  number: number;
  /** Default: now. */
  thisUpdate?: Date;
  /** Mandatory for us (RFC 5280 5.1.2.5): relying parties such as nginx stop accepting clients after it. */
  nextUpdate: Date;
  /** The entries, or as a ledger's revokedLines lists them ("serial revokedAt reason\n" each). */
  entries: Iterable<CrlEntry> | string;
}

/**
 * A v2 CRL (RFC 5280 section 5) with AKI and CRL number; entries carry a reason code unless it
 * is `unspecified` (5.3.1). Encoded directly in DER, in linear time: see der.ts for why.
 */
export async function createCrl(params: CrlParams): Promise<Uint8Array> {
  const { signer } = params;
  const ski = signer.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const algorithm = signer.algorithm;
  const revoked = revokedCertificates(params.entries);
  const extensions = [
    ...(ski ? [seq(oid("2.5.29.35"), octets(seq(tlv(0x80, new Uint8Array(Buffer.from(ski.keyId, "hex"))))))] : []),
    seq(oid("2.5.29.20"), octets(uint(params.number))),
  ];
  const fields = [
    uint(1), // v2
    algorithm,
    new Uint8Array(signer.certificate.subjectName.toArrayBuffer()),
    time(params.thisUpdate ?? new Date()),
    time(params.nextUpdate),
  ];
  const crlExtensions = tlv(0xa0, seq(...extensions));
  // The entry list is most of a large CRL: it is copied into the TBSCertList once, not re-wrapped.
  const listLength = revoked.length ? headerLength(revoked.length) + revoked.length : 0;
  const tbs = new DerWriter(revoked.length + 4096);
  tbs.header(0x30, fields.reduce((n, f) => n + f.length, 0) + listLength + crlExtensions.length);
  for (const f of fields) tbs.bytes(f);
  if (revoked.length) {
    tbs.header(0x30, revoked.length);
    tbs.bytes(revoked);
  }
  tbs.bytes(crlExtensions);
  const signature = tlv(0x03, concat([new Uint8Array([0]), await signer.sign(tbs.view())]));
  const crl = new DerWriter(tbs.length + 4096);
  crl.header(0x30, tbs.length + algorithm.length + signature.length);
  crl.bytes(tbs.view());
  crl.bytes(algorithm);
  crl.bytes(signature);
  return crl.toBytes();
}

/** The reasonCode entry extension (RFC 5280 5.3.1) of each reason, encoded once. */
const REASON_EXTENSIONS = new Map<CrlReason, Uint8Array>();
function reasonExtensions(reason: CrlReason): Uint8Array {
  let ext = REASON_EXTENSIONS.get(reason);
  if (!ext) REASON_EXTENSIONS.set(reason, (ext = seq(seq(oid("2.5.29.21"), octets(tlv(0x0a, new Uint8Array([reason])))))));
  return ext;
}

/**
 * The content of revokedCertificates (RFC 5280 5.1.2.6), empty when there are none: each
 * entry is written once into one buffer, in the order given (a CRL's entries need no order).
 */
function revokedCertificates(entries: Iterable<CrlEntry> | string): Uint8Array<ArrayBuffer> {
  if (typeof entries === "string") return revokedFromLines(entries);
  // An entry is about 40 bytes: sized once for a list, so the buffer is not regrown and copied.
  const list = new DerWriter(Array.isArray(entries) ? entries.length * 48 : undefined);
  for (const e of entries) writeEntry(list, e.serial, e.revokedAt, e.reason);
  return list.view();
}

/** revokedCertificates from revokedLines, read in place: no object per certificate. */
function revokedFromLines(lines: string): Uint8Array<ArrayBuffer> {
  // A line (about 60 characters) is longer than its entry (about 40 bytes).
  const list = new DerWriter(lines.length);
  for (let start = 0; start < lines.length; ) {
    const end = lines.indexOf("\n", start);
    const a = lines.indexOf(" ", start);
    const b = a === -1 ? -1 : lines.indexOf(" ", a + 1);
    const reason = Number(lines.slice(b + 1, end));
    if (end === -1 || b === -1 || b + 1 >= end || !Number.isInteger(reason)) throw new RangeError(`not a list of revoked certificates: ${lines.slice(start, start + 80)}`);
    writeEntry(list, lines.slice(start, a), lines.slice(a + 1, b), reason);
    start = end + 1;
  }
  return list.view();
}

function writeEntry(list: DerWriter, serialHex: string, revokedAt: Date | string, reason: CrlReason): void {
  const serial = uintHex(serialHex);
  const ext = reason === CrlReason.unspecified ? null : reasonExtensions(reason);
  list.header(0x30, headerLength(serial.length) + serial.length + timeLength(revokedAt) + (ext?.length ?? 0));
  list.uintHex(serial);
  if (typeof revokedAt === "string") list.timeIso(revokedAt);
  else list.time(revokedAt);
  if (ext) list.bytes(ext);
}

/** Parses a CRL and checks its signature against `issuer`; null when it does not parse or verify. */
export async function readVerifiedCrl(der: Uint8Array, issuer: x509.X509Certificate): Promise<{ nextUpdate: Date | null; thisUpdate: Date; entries: number } | null> {
  try {
    const crl = new x509.X509Crl(new Uint8Array(der));
    if (!(await crl.verify({ publicKey: issuer.publicKey }))) return null;
    return { nextUpdate: crl.nextUpdate ?? null, thisUpdate: crl.thisUpdate, entries: crl.entries.length };
  } catch {
    return null;
  }
}

/** Serials (lowercase hex) listed in a CRL, or null when `der` is not a CRL. */
export function crlSerials(der: Uint8Array): Set<string> | null {
  try {
    const crl = new x509.X509Crl(new Uint8Array(der));
    return new Set(crl.entries.map((e) => e.serialNumber.toLowerCase()));
  } catch {
    return null;
  }
}
