import { randomBytes } from "node:crypto";

/** Serial numbers carry this many bits from the CSPRNG (CA/Browser Forum BR 7.1 asks for at least 64). */
export const SERIAL_BITS = 128;

/**
 * A random positive serial number as lowercase hex of its minimal unsigned value.
 *
 * RFC 5280 section 4.1.2.2: serials are positive INTEGERs of at most 20 octets.
 * 16 random octets with a leading 0x00 added by the DER encoder when the high bit is
 * set stay within 17 octets. Leading zero octets are dropped so that the hex we store
 * is exactly what `openssl x509 -serial` prints (in lower case).
 */
export function randomSerial(random: (n: number) => Uint8Array = randomBytes): string {
  for (;;) {
    const bytes = random(SERIAL_BITS / 8);
    const hex = serialHex(bytes);
    if (hex !== "00") return hex;
  }
}

/** Lowercase hex of a serial given as big-endian unsigned bytes, without leading zero octets. */
export function serialHex(bytes: Uint8Array): string {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return Buffer.from(bytes.subarray(i)).toString("hex");
}

/** Normalizes user-typed serials: "0A:BC:..", "0x0abc", "ABC" → "0abc". Returns null when not hex. */
export function normalizeSerial(input: string): string | null {
  let s = input.trim().toLowerCase().replace(/[:\s]/g, "");
  if (s.startsWith("0x")) s = s.slice(2);
  if (!/^[0-9a-f]+$/.test(s) || s.length > 40) return null;
  if (s.length % 2 === 1) s = "0" + s;
  return serialHex(Buffer.from(s, "hex"));
}
