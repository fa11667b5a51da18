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

/** GeneralizedTime, always UTC with whole seconds (RFC 6960 responses, RFC 5280 4.1.2.5.2). */
export function generalizedTime(d: Date): Uint8Array {
  return tlv(0x18, Buffer.from(d.toISOString().slice(0, 19).replace(/[-:T]/g, "") + "Z"));
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

/**
 * An append-only DER buffer for long lists (a CRL's revoked certificates): elements are written
 * in place, with lengths computed up front, so 100,000 entries cost one growing buffer instead
 * of several small arrays and copies each.
 */
export class DerWriter {
  // Never below 4 KiB: smaller unsafe allocations share Node's buffer pool, which view() must not expose.
  private buf: Buffer;
  private end = 0;

  constructor(sizeHint = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(sizeHint, 1 << 12));
  }

  get length(): number {
    return this.end;
  }

  private reserve(n: number): number {
    if (this.end + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.end + n));
      this.buf.copy(grown, 0, 0, this.end);
      this.buf = grown;
    }
    const at = this.end;
    this.end += n;
    return at;
  }

  /** Tag and definite length (X.690 8.1.3); the `length` content bytes must follow. */
  header(tag: number, length: number): void {
    const at = this.reserve(headerLength(length));
    this.buf[at] = tag;
    if (length < 0x80) {
      this.buf[at + 1] = length;
      return;
    }
    const n = headerLength(length) - 2;
    this.buf[at + 1] = 0x80 | n;
    for (let i = n, v = length; i > 0; i--, v = Math.floor(v / 256)) this.buf[at + 1 + i] = v & 0xff;
  }

  // reserve() may replace this.buf: take the offset first, then the buffer.
  bytes(b: Uint8Array): void {
    const at = this.reserve(b.length);
    // A CRL entry's reason extension is 11 bytes: a loop beats a call into native code for that.
    if (b.length <= 32) for (let i = 0; i < b.length; i++) this.buf[at + i] = b[i]!;
    else this.buf.set(b, at);
  }

  /** A non-negative INTEGER from a `hexMagnitude` made by `uintHex`. */
  uintHex(m: HexInteger): void {
    this.header(0x02, m.length);
    let at = this.reserve(m.length);
    if (m.pad) this.buf[at++] = 0;
    // Digit by digit (uintHex checked them): for a 16-byte serial cheaper than Buffer.write's native call.
    const { hex } = m;
    for (let i = 0; i < hex.length; i += 2) this.buf[at++] = (nibble(hex.charCodeAt(i)) << 4) | nibble(hex.charCodeAt(i + 1));
  }

  /** Same encoding as `time`, written digit by digit. */
  time(d: Date): void {
    const long = d.getUTCFullYear() >= 2050;
    this.header(long ? 0x18 : 0x17, long ? 15 : 13);
    const at = this.reserve(long ? 15 : 13);
    let i = at;
    const two = (v: number) => {
      this.buf[i++] = 0x30 + Math.floor(v / 10);
      this.buf[i++] = 0x30 + (v % 10);
    };
    const year = d.getUTCFullYear();
    if (long) two(Math.floor(year / 100));
    two(year % 100);
    two(d.getUTCMonth() + 1);
    two(d.getUTCDate());
    two(d.getUTCHours());
    two(d.getUTCMinutes());
    two(d.getUTCSeconds());
    this.buf[i] = 0x5a; // Z
  }

  /**
   * Same encoding as `time(new Date(iso))` for an ISO 8601 UTC time as toISOString writes it
   * (what the ledger stores), digits copied from the string: no Date per CRL entry.
   */
  timeIso(iso: string): void {
    if (!ISO_UTC.test(iso)) return this.time(new Date(iso));
    const long = isoYear(iso) >= 2050;
    this.header(long ? 0x18 : 0x17, long ? 15 : 13);
    let i = this.reserve(long ? 15 : 13);
    for (const at of long ? GENERALIZED_DIGITS : UTC_DIGITS) this.buf[i++] = iso.charCodeAt(at);
    this.buf[i] = 0x5a; // Z
  }

  /** The bytes written so far, without a copy: valid until the next write. */
  view(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.buf.buffer as ArrayBuffer, this.buf.byteOffset, this.end);
  }

  /** The bytes written, in a buffer of their own. */
  toBytes(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.end));
  }
}

/** The value of a lowercase hex digit's character code. */
const nibble = (c: number) => (c <= 0x39 ? c - 0x30 : c - 0x57);

/** Header size (tag + length octets) of an element with `length` content bytes. */
export function headerLength(length: number): number {
  let n = 0;
  for (let v = length; v > 0; v = Math.floor(v / 256)) n++;
  return length < 0x80 ? 2 : 2 + n;
}

/** A non-negative INTEGER's content from hex: minimal, with a 0x00 when the high bit is set. */
export interface HexInteger {
  hex: string;
  pad: boolean;
  /** Content octets. */
  length: number;
}

export function uintHex(hex: string): HexInteger {
  let h = (hex.length % 2 ? "0" + hex : hex).toLowerCase();
  if (!/^[0-9a-f]+$/.test(h)) throw new RangeError(`not a hex integer: ${hex.slice(0, 40)}`);
  let i = 0;
  while (i < h.length - 2 && h[i] === "0" && h[i + 1] === "0") i += 2;
  h = h.slice(i);
  const pad = parseInt(h[0]!, 16) >= 8;
  return { hex: h, pad, length: h.length / 2 + (pad ? 1 : 0) };
}

/** Content length of `time(d)`, or of `timeIso(iso)`. */
export const timeLength = (d: Date | string) => ((typeof d === "string" ? (ISO_UTC.test(d) ? isoYear(d) : new Date(d).getUTCFullYear()) : d.getUTCFullYear()) >= 2050 ? 17 : 15);

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const isoYear = (iso: string) => (iso.charCodeAt(0) - 48) * 1000 + (iso.charCodeAt(1) - 48) * 100 + (iso.charCodeAt(2) - 48) * 10 + (iso.charCodeAt(3) - 48);
/** Where the digits of YYMMDDHHMMSS (UTCTime) and YYYYMMDDHHMMSS (GeneralizedTime) sit in YYYY-MM-DDTHH:MM:SS. */
const UTC_DIGITS = [2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
const GENERALIZED_DIGITS = [0, 1, ...UTC_DIGITS];
