// A minimal DER writer for the one structure too large for a generic ASN.1 library: a CRL
// with 100,000 entries. @peculiar/x509's CRL generator checks every new entry against all
// previous ones (quadratic: 5,000 entries took 3.8 s here); this writes each entry once.

/** Tag + length + content, per X.690 section 8.1 (definite length). */
export function tlv(tag: number, content: Uint8Array | Uint8Array[]): Uint8Array {
  const body = Array.isArray(content) ? concat(content) : content;
  return concat([new Uint8Array([tag]), length(body.length), body]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function length(n: number): Uint8Array {
  if (n < 0x80) return new Uint8Array([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return new Uint8Array([0x80 | bytes.length, ...bytes]);
}

export const seq = (...parts: Uint8Array[]) => tlv(0x30, parts);
export const octets = (b: Uint8Array) => tlv(0x04, b);

/** A non-negative INTEGER from big-endian magnitude bytes: minimal, with a 0x00 when the high bit is set. */
export function uintBytes(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return tlv(0x02, m[0]! & 0x80 ? concat([new Uint8Array([0]), m]) : m);
}

export function uint(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return uintBytes(new Uint8Array(bytes.length ? bytes : [0]));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always UTC with seconds. */
export function time(d: Date): Uint8Array {
  const iso = d.toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "");
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2) + "Z")) : tlv(0x18, Buffer.from(digits + "Z"));
}

/** DER OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Uint8Array {
  const parts = dotted.split(".").map(Number);
  const out: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, new Uint8Array(out));
}

/** WebCrypto's ECDSA signature (r || s) as the DER SEQUENCE { r INTEGER, s INTEGER } X.509 wants. */
export function ecdsaSignatureToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return seq(uintBytes(raw.subarray(0, half)), uintBytes(raw.subarray(half)));
}
