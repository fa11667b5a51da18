// Who is calling the mTLS API. The TLS layer only proves that the peer holds the key of a
// certificate chaining to the root; whether that certificate still counts (not revoked, not
// superseded, not expired, really one this ledger issued) is decided here on every request,
// from the ledger as it is now, so a revocation shuts a caller out at its next request.
import { normalizeSerial } from "../crypto/serial.js";
import type { CertificateRecord, LedgerReader, Role } from "../ledger/ledger.js";
import { PkiError, shown } from "./errors.js";
import { when } from "./views.js";

/** What the TLS layer saw of the client. */
export interface PeerCertificate {
  /** The client certificate (DER), or null when the client sent none. */
  der: Uint8Array | null;
  /** The serial as the TLS library printed it (hex). */
  serial: string | null;
  /** Why the chain did not verify against the root (an OpenSSL code such as CERT_HAS_EXPIRED), or null when it did. */
  chainError: string | null;
}

export interface Caller {
  record: CertificateRecord;
  role: Role | undefined;
}

/**
 * A refusal of the caller: `unauthenticated` (HTTP 401) when its certificate does not count,
 * `forbidden` (403) when it counts but its role does not allow the request.
 */
export class AccessDenied extends PkiError {
  constructor(
    readonly reason: "unauthenticated" | "forbidden",
    message: string,
    code: string,
    hint?: string,
  ) {
    super("invalid", message, hint, code);
    this.name = "AccessDenied";
  }
}

export async function identifyCaller(r: LedgerReader, peer: PeerCertificate, now: Date): Promise<Caller> {
  if (!peer.der || !peer.serial) {
    throw new AccessDenied("unauthenticated", "this API needs a client certificate issued by this CA", "CLIENT_CERTIFICATE_REQUIRED", "curl --cert certs/NAME.pem --key NAME.key ...");
  }
  if (peer.chainError === "CERT_HAS_EXPIRED") throw expired(null);
  if (peer.chainError) throw new AccessDenied("unauthenticated", `the client certificate does not verify as a client certificate of this CA (${shown(peer.chainError, 60)})`, "UNTRUSTED_CLIENT_CERTIFICATE");
  const serial = normalizeSerial(peer.serial);
  const record = serial ? await r.bySerial(serial) : undefined;
  // Same serial and different bytes: not the certificate this ledger issued.
  if (!record || Buffer.compare(record.der, peer.der) !== 0) {
    throw new AccessDenied("unauthenticated", `the client certificate (serial ${shown(peer.serial, 40)}) is not in this CA's ledger`, "UNKNOWN_CLIENT_CERTIFICATE");
  }
  if (record.kind === "root") throw new AccessDenied("unauthenticated", "the root CA certificate is not a client certificate", "UNKNOWN_CLIENT_CERTIFICATE");
  if (record.state === "revoked") {
    throw new AccessDenied("unauthenticated", `the client certificate "${record.name}" (serial ${record.serial}) was revoked ${when(record.revokedAt!)}`, "CERTIFICATE_REVOKED");
  }
  if (record.state === "superseded") {
    throw new AccessDenied("unauthenticated", `the client certificate "${record.name}" (serial ${record.serial}) was replaced by ${record.supersededBy}`, "CERTIFICATE_SUPERSEDED", "use the newer certificate");
  }
  const iso = now.toISOString();
  if (record.notAfter <= iso) throw expired(record);
  if (record.notBefore > iso) throw new AccessDenied("unauthenticated", `the client certificate "${record.name}" is not valid before ${when(record.notBefore)}`, "CERTIFICATE_NOT_YET_VALID");
  return { record, role: await r.role(record.name) };
}

function expired(record: CertificateRecord | null): AccessDenied {
  const which = record ? `"${record.name}" (serial ${record.serial}) expired ${when(record.notAfter)}` : "has expired";
  return new AccessDenied("unauthenticated", `the client certificate ${which}`, "CERTIFICATE_EXPIRED", "an expired certificate cannot renew itself; ask an admin for a new one");
}

/** Admins may do anything; every other caller only renew itself. */
export function requireAdmin(caller: Caller, what: string): void {
  if (caller.role === "admin") return;
  throw new AccessDenied(
    "forbidden",
    `"${caller.record.name}" may not ${what}: only admins may (pki role set NAME admin)`,
    "FORBIDDEN",
    "a certificate without a role may only renew itself: POST /v1/renew",
  );
}
