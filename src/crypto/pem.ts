import { CryptoError } from "./errors.js";

/** Bytes backed by a plain ArrayBuffer, which WebCrypto and the ASN.1 parsers require. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** A copy-free view when possible, a copy when `data` sits in a shared or pooled buffer. */
export function bytes(data: Uint8Array): Bytes {
  if (data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) {
    return data as Bytes;
  }
  return new Uint8Array(data);
}

export interface PemBlock {
  label: string;
  der: Bytes;
}

/** Encodes DER as PEM with 64-column base64 lines (RFC 7468 section 2). */
export function toPem(der: Uint8Array, label: string): string {
  return pemBytes(der, label).toString("latin1");
}

/**
 * toPem's text as bytes (it is ASCII): what a file is written from, without making a string of
 * a 4 MB CRL's 6 MB of PEM and encoding it back into bytes.
 */
export function pemBytes(der: Uint8Array, label: string): Buffer {
  const bytes = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  const begin = `-----BEGIN ${label}-----\n`;
  const end = `-----END ${label}-----\n`;
  const out = Buffer.allocUnsafe(begin.length + Math.ceil(bytes.length / 3) * 4 + Math.ceil(bytes.length / 48) + end.length);
  let at = out.write(begin, 0, "latin1");
  // Line by line into one buffer: for a 4 MB CRL several times faster than slicing one base64
  // string into 90,000 lines and joining them.
  for (let i = 0; i < bytes.length; i += 48) {
    at += out.write(bytes.toString("base64", i, Math.min(i + 48, bytes.length)), at, "latin1");
    out[at++] = 0x0a;
  }
  at += out.write(end, at, "latin1");
  return out.subarray(0, at);
}

/** PEM with the "X509 CRL" label that OpenSSL and nginx read; @peculiar/x509 would write "CRL". */
export function crlPem(der: Uint8Array): string {
  return toPem(der, "X509 CRL");
}

/** crlPem as bytes, for crl.pem and --out (see pemBytes). */
export function crlPemBytes(der: Uint8Array): Buffer {
  return pemBytes(der, "X509 CRL");
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const body = m[2]!.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length === 0) {
      throw new CryptoError("malformed", `PEM block "${m[1]}" has invalid base64`);
    }
    blocks.push({ label: m[1]!, der: new Uint8Array(Buffer.from(body, "base64")) });
  }
  return blocks;
}

/**
 * Reads DER from PEM (first block with one of `labels`) or passes DER through.
 * Accepting both saves users a conversion step with `openssl ... -outform`.
 */
export function readDerOrPem(data: Uint8Array, labels: string[], what: string): Bytes {
  if (data.length > 0 && data[0] === 0x30) return wholeDer(bytes(data), what);
  const text = Buffer.from(data).toString("latin1");
  const blocks = pemBlocks(text);
  const found = blocks.find((b) => labels.includes(b.label));
  if (!found) {
    throw new CryptoError("malformed", `not a ${what} (expected PEM "${labels[0]}" or DER)`);
  }
  return wholeDer(found.der, what);
}

/**
 * `der` if it is exactly one DER element: bytes after it would be ignored by one parser and
 * read by another, a classic way to make two programs disagree about what was signed.
 */
export function wholeDer(der: Bytes, what: string): Bytes {
  if (der.length < 2) throw new CryptoError("malformed", `the ${what} is truncated`);
  const first = der[1]!;
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || der.length < 2 + n) throw new CryptoError("malformed", `the ${what} has an invalid DER length`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[2 + i]!;
    header = 2 + n;
  }
  if (header + length !== der.length) {
    throw new CryptoError("malformed", header + length < der.length ? `the ${what} has ${der.length - header - length} bytes after its DER encoding` : `the ${what} is truncated`);
  }
  return der;
}
