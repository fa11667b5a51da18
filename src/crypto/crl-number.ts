// Kept apart from crl.ts, which loads @peculiar/x509: every change reads crl.pem's number.
/**
 * The CRL number of a DER CRL, read from its extensions without decoding the revoked list (a
 * 100,000-entry CRL is skipped over by its length); null when it is not a CRL with a number.
 */
export function crlNumberOf(der: Uint8Array): number | null {
  try {
    const outer = readTlv(der, 0);
    const tbs = readTlv(der, outer.start);
    let at = tbs.start;
    while (at < tbs.end) {
      const field = readTlv(der, at);
      if (der[at] === 0xa0) return numberExtension(der, field.start, field.end);
      at = field.end;
    }
    return null;
  } catch {
    return null;
  }
}

/** Inside [0] EXPLICIT Extensions: the value of id-ce-cRLNumber (2.5.29.20). */
function numberExtension(der: Uint8Array, start: number, end: number): number | null {
  const list = readTlv(der, start);
  for (let at = list.start; at < Math.min(list.end, end); ) {
    const ext = readTlv(der, at);
    const id = readTlv(der, ext.start);
    if (Buffer.from(der.subarray(id.start, id.end)).equals(CRL_NUMBER_OID)) {
      let value = readTlv(der, id.end);
      if (der[id.end] === 0x01) value = readTlv(der, value.end); // the critical flag
      const integer = readTlv(der, value.start);
      const bytes = der.subarray(integer.start, integer.end);
      if (bytes.length === 0 || bytes.length > 7) return null;
      return bytes.reduce((n, b) => n * 256 + b, 0);
    }
    at = ext.end;
  }
  return null;
}

const CRL_NUMBER_OID = Buffer.from([0x55, 0x1d, 0x14]);

/** One DER TLV at `at`: where its content starts and where it ends. */
function readTlv(der: Uint8Array, at: number): { start: number; end: number } {
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error("unsupported length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > der.length) throw new Error("truncated");
  return { start, end: start + len };
}
