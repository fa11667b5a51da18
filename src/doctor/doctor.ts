import { createPublicKey, X509Certificate } from "node:crypto";
import { rootCertificates } from "node:tls";
import { type CertificateRequestProbe, type HttpProbe, probeCertificateRequest, probeHttp } from "./probe.js";
import type { DoctorTarget } from "./target.js";

export type CheckStatus = "pass" | "fail" | "warn" | "info";

export interface Check {
  /** Stable identifier for scripts, e.g. "client.expired". */
  id: string;
  section: "server" | "request" | "client" | "http" | "ca";
  status: CheckStatus;
  message: string;
  fix?: string;
}

export interface DoctorInput {
  target: DoctorTarget;
  /** PEM of the client certificate to try, if any. */
  certificatePem?: string;
  /** PEM of its private key (unencrypted, or encrypted with `keyPassphrase`). */
  keyPem?: string;
  /** PEM of the CA the client certificate should chain to (default: none given). */
  caPem?: string;
  /** Serials revoked according to the ledger and/or CRL (lowercase hex); null when unknown. */
  revokedSerials?: Set<string> | null;
  /** Where revocation information came from, for the message. */
  revocationSource?: string;
  /** The client certificate's name in this CA home, already shell-quoted (`'a b'`), for the commands hints print; absent when it is not from this home. */
  quotedName?: string;
  /** For a CA home whose root key is in a PKCS#11 token: whether it is reachable and signs (null: not checked, no PIN at hand). */
  tokenKey?: { usable: boolean | null; message: string; fix?: string };
  /** For a CA home during a root rotation (pki rotate-root): which roots are trusted, what is left under the old one. */
  rotation?: { message: string; fix: string };
  now?: Date;
}

export interface DoctorReport {
  url: string;
  ok: boolean;
  protocol: string | null;
  checks: Check[];
}

/** The order sections are checked and printed in; a later step may add to an earlier section. */
const SECTION_ORDER: Check["section"][] = ["server", "request", "client", "http", "ca"];

/** Common ssl_verify_depth settings: nginx defaults to 1, Apache to 1, HAProxy verifies the whole chain. */
const NGINX_DEFAULT_DEPTH = 1;

/**
 * Diagnoses a mutual-TLS connection: the server, its CertificateRequest and accepted CA
 * names, the client certificate checked locally, and the real request without and with it,
 * with each failure mapped to a cause and a fix (those of the 400/495/496 and
 * ERR_BAD_SSL_CLIENT_AUTH_CERT pages people search for).
 */
export async function diagnose(input: DoctorInput): Promise<DoctorReport> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const now = input.now ?? new Date();
  const { url, host, port, path, address, servername, hostHeader } = input.target;
  const renew = input.quotedName ? `pki renew ${input.quotedName}` : "get a new certificate from the CA that issued it";
  const trust = [...rootCertificates, ...(input.caPem ? [input.caPem] : [])];
  const endpoint = { host: address, port, path, hostHeader, ...(servername ? { servername } : {}) };
  const report = (ok: boolean, protocol: string | null): DoctorReport => ({
    url,
    ok,
    protocol,
    // Array.prototype.sort is stable: within a section, checks keep the order they ran in.
    checks: [...checks].sort((a, b) => SECTION_ORDER.indexOf(a.section) - SECTION_ORDER.indexOf(b.section)),
  });
  const at = address === host ? `${host}:${port}` : `${host}:${port} (at ${address})`;
  if (input.tokenKey) {
    const { usable, message, fix } = input.tokenKey;
    add({ id: "ca.token-key", section: "ca", status: usable === null ? "warn" : usable ? "pass" : "fail", message, ...(fix && !usable ? { fix } : {}) });
  }

  if (input.rotation) add({ id: "ca.rotation", section: "ca", status: "info", message: input.rotation.message, fix: input.rotation.fix });

  // 1. The server.
  const bare = await probeHttp({ ...endpoint, ca: trust.join("\n"), checkName: host });
  if (!bare.protocol && (bare.errorCode === "ECONNREFUSED" || bare.errorCode === "ENOTFOUND" || bare.errorCode === "ETIMEDOUT" || bare.errorCode === "EHOSTUNREACH")) {
    add({ id: "server.reachable", section: "server", status: "fail", message: `cannot reach ${at} (${bare.errorCode})`, fix: "check the host name, the port, and that the server is running and not firewalled" });
    return report(false, null);
  }
  add({ id: "server.reachable", section: "server", status: "pass", message: `${at} answers` });
  const protocol = bare.protocol;
  if (protocol) add({ id: "server.tls", section: "server", status: protocol === "TLSv1.2" || protocol === "TLSv1.3" ? "pass" : "warn", message: `TLS version ${protocol}`, ...(protocol === "TLSv1.2" || protocol === "TLSv1.3" ? {} : { fix: "allow only TLS 1.2 and 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3)" }) });
  const sc = bare.serverCertificate;
  if (sc && sc.subject) {
    const until = new Date(sc.valid_to);
    const name = sc.subject.CN ?? JSON.stringify(sc.subject);
    if (bare.serverTrusted) add({ id: "server.certificate", section: "server", status: "pass", message: `server certificate "${name}" is trusted, valid until ${until.toISOString().slice(0, 10)}` });
    else if (bare.serverTrustError === "ERR_TLS_CERT_ALTNAME_INVALID") {
      add({
        id: "server.name",
        section: "server",
        status: "warn",
        message: `server certificate "${name}" does not name ${host} (it names ${sc.subjectaltname || `only CN=${name}`}): clients that check names refuse the connection`,
        fix: `connect with a name the certificate holds, or give the server a certificate for ${host} (pki issue-server ${host})`,
      });
    } else add({ id: "server.certificate", section: "server", status: "warn", message: `server certificate "${name}" is not trusted here (${bare.serverTrustError})`, fix: "clients must trust the server too: give them the CA that issued it (for a pki server certificate, ca.pem)" });
  }

  // 2. Does the server ask for a client certificate, and from which CAs?
  const request = await probeCertificateRequest(address, port, servername);
  reportRequest(request, input.certificatePem, add);

  // 3. The client certificate, checked locally.
  let certUsable = false;
  if (input.certificatePem) certUsable = checkClient(input, renew, now, add);
  else add({ id: "client.present", section: "client", status: request.requested ? "warn" : "info", message: "no client certificate given to test", ...(request.requested ? { fix: "run again with --cert NAME (from this CA home) or --cert FILE --key FILE" } : {}) });

  // 4. The real request, without and with the certificate.
  const without = input.certificatePem ? await probeHttp(endpoint) : bare;
  const verdictWithout = interpret(without, renew);
  let finalVerdict = verdictWithout;
  if (!input.certificatePem) {
    add({ id: "http.without", section: "http", status: verdictWithout.served ? "pass" : "fail", message: `without a certificate: ${verdictWithout.summary}`, ...(verdictWithout.fix ? { fix: verdictWithout.fix } : {}) });
  } else {
    add({ id: "http.without", section: "http", status: "info", message: `without a certificate: ${verdictWithout.summary}` });
  }
  if (request.requested && verdictWithout.served) {
    add({
      id: "request.optional",
      section: "request",
      status: "warn",
      message: "the server asks for a certificate but serves requests without one (nginx ssl_verify_client optional or optional_no_ca)",
      fix: "use ssl_verify_client on, or make the application refuse requests whose X-SSL-Client-Verify is not SUCCESS",
    });
  }
  if (input.certificatePem && input.keyPem) {
    if (certUsable) {
      finalVerdict = interpret(await probeHttp({ ...endpoint, cert: input.certificatePem, key: input.keyPem }), renew);
      add({ id: "http.with", section: "http", status: finalVerdict.served ? "pass" : "fail", message: `with the certificate: ${finalVerdict.summary}`, ...(finalVerdict.fix ? { fix: finalVerdict.fix } : {}) });
    } else {
      add({ id: "http.with", section: "http", status: "fail", message: "with the certificate: not attempted, the local checks above failed", fix: "fix the failed client checks first" });
    }
  } else if (input.certificatePem) {
    finalVerdict = { served: false, summary: "no key to present the certificate with" };
  }
  const issuerOrg = String(sc?.issuer?.O ?? "");
  if (request.requested === false && /cloudflare|akamai|fastly|amazon/i.test(issuerOrg)) {
    add({ id: "request.proxy", section: "request", status: "warn", message: `the TLS certificate comes from ${issuerOrg}: a proxy or CDN terminates TLS in front of your server`, fix: "the proxy must do the client-certificate check (or pass TLS through); client certificates are not forwarded by default" });
  }
  return report(finalVerdict.served && !checks.some((c) => c.status === "fail"), protocol);
}

function reportRequest(request: CertificateRequestProbe, certPem: string | undefined, add: (c: Check) => void): void {
  if (request.requested === null) {
    add({ id: "request.sent", section: "request", status: "warn", message: `cannot tell whether the server asks for a client certificate: ${request.error}` });
    return;
  }
  if (!request.requested) {
    add({
      id: "request.sent",
      section: "request",
      status: "fail",
      message: "the server does not ask for a client certificate (no CertificateRequest): clients never send one",
      fix: "nginx: ssl_verify_client on; and ssl_client_certificate ca.pem in this server block (pki server-config nginx). If a proxy or CDN sits in front, it terminates TLS and must check the certificate itself",
    });
    return;
  }
  add({ id: "request.sent", section: "request", status: "pass", message: "the server asks for a client certificate (CertificateRequest)" });
  if (request.caNames.length === 0) {
    add({ id: "request.ca-names", section: "request", status: "warn", message: "the server names no acceptable CAs (nginx: ssl_verify_client optional_no_ca, or no ssl_client_certificate): it accepts any certificate without verifying it", fix: "use ssl_verify_client on (or optional) with ssl_client_certificate ca.pem, so certificates are verified" });
    return;
  }
  add({ id: "request.ca-names", section: "request", status: "info", message: `acceptable client certificate CA names: ${request.caNames.join(" | ")}` });
  if (!certPem) return;
  const issuer = opensslName(new X509Certificate(certPem).issuer);
  if (request.caNames.some((n) => normalize(n) === normalize(issuer))) {
    add({ id: "request.issuer-accepted", section: "request", status: "pass", message: `the certificate's issuer (${issuer}) is among them` });
  } else {
    add({
      id: "request.issuer-accepted",
      section: "request",
      status: "fail",
      message: `the certificate's issuer (${issuer}) is not among them: browsers will not offer it and the server will refuse it`,
      fix: "put this CA's ca.pem in the server's ssl_client_certificate (SSLCACertificateFile, ca-file) and reload; after a CA rotation the server's bundle must hold the new root",
    });
  }
}

/** Local checks; returns whether the certificate and key can be offered at all. */
function checkClient(input: DoctorInput, renew: string, now: Date, add: (c: Check) => void): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(input.certificatePem!);
  } catch {
    add({ id: "client.present", section: "client", status: "fail", message: "the client certificate does not parse", fix: "give a PEM certificate (pki show NAME --pem)" });
    return false;
  }
  add({ id: "client.present", section: "client", status: "pass", message: `client certificate ${opensslName(cert.subject)}, serial ${cert.serialNumber.toLowerCase()}` });
  let usable = true;
  if (!input.keyPem) {
    add({ id: "client.key", section: "client", status: "fail", message: "no private key for the certificate", fix: "give --key FILE, or a NAME whose key this CA home holds; a certificate without its key cannot be used (ERR_BAD_SSL_CLIENT_AUTH_CERT in browsers)" });
    usable = false;
  } else {
    let matches = false;
    try {
      const keySpki = createPublicKey(input.keyPem).export({ type: "spki", format: "der" });
      matches = keySpki.equals(cert.publicKey.export({ type: "spki", format: "der" }));
    } catch (e) {
      add({ id: "client.key", section: "client", status: "fail", message: `the private key cannot be read: ${(e as Error).message}` });
      usable = false;
    }
    if (usable) {
      add(matches
        ? { id: "client.key", section: "client", status: "pass", message: "the private key matches the certificate" }
        : { id: "client.key", section: "client", status: "fail", message: "the private key does not match the certificate", fix: `use the key that was generated with this certificate${input.quotedName ? ` (pki export-key ${input.quotedName}, or the .p12 from pki export-p12 ${input.quotedName})` : ""}` });
      usable = matches;
    }
  }
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) add({ id: "client.not-yet-valid", section: "client", status: "fail", message: `the certificate is not valid before ${from.toISOString()}`, fix: "check the clocks of the CA machine and the server" });
  else if (now > to) {
    add({ id: "client.expired", section: "client", status: "fail", message: `the certificate expired on ${to.toISOString()}`, fix: `${renew}, then install the new .p12` });
  } else add({ id: "client.validity", section: "client", status: "pass", message: `valid until ${to.toISOString().slice(0, 10)} (${Math.floor((to.getTime() - now.getTime()) / 86_400_000)} days)` });
  const extKeyUsage = (cert as unknown as { keyUsage?: string[] }).keyUsage;
  if (extKeyUsage && !extKeyUsage.includes("1.3.6.1.5.5.7.3.2")) {
    add({ id: "client.client-auth", section: "client", status: "fail", message: "the certificate lacks extendedKeyUsage clientAuth: servers refuse it for client authentication", fix: "issue it with pki issue-client (its profile sets clientAuth)" });
  } else add({ id: "client.client-auth", section: "client", status: "pass", message: "extendedKeyUsage allows client authentication" });
  if (input.caPem) {
    const cas = splitPem(input.caPem).map((p) => new X509Certificate(p));
    const issuer = cas.find((c) => cert.checkIssued(c) && cert.verify(c.publicKey));
    if (!issuer) {
      const sameName = cas.find((c) => c.subject === cert.issuer);
      add({
        id: "client.chain",
        section: "client",
        status: "fail",
        message: sameName ? "the certificate names the CA as its issuer but was signed by a different key: a rotated or re-created CA" : `the certificate does not chain to the given CA (${cas.map((c) => opensslName(c.subject)).join(" | ")})`,
        fix: "use a certificate from this CA, or give the CA that issued it with --ca",
      });
    } else {
      const depth = issuer.checkIssued(issuer) ? 1 : 2;
      add({ id: "client.chain", section: "client", status: "pass", message: `signed by ${opensslName(issuer.subject)}` });
      add(depth <= NGINX_DEFAULT_DEPTH
        ? { id: "client.depth", section: "client", status: "pass", message: `chain depth ${depth}: within nginx's default ssl_verify_depth ${NGINX_DEFAULT_DEPTH}` }
        : { id: "client.depth", section: "client", status: "warn", message: `chain depth ${depth}: nginx needs ssl_verify_depth ${depth} or more (default ${NGINX_DEFAULT_DEPTH})`, fix: `ssl_verify_depth ${depth};` });
    }
  }
  if (input.revokedSerials) {
    if (input.revokedSerials.has(cert.serialNumber.toLowerCase())) {
      add({ id: "client.revoked", section: "client", status: "fail", message: `the certificate is revoked (${input.revocationSource})`, fix: `${renew} if the person should still get in (servers refuse this one once they load the CRL)` });
    } else add({ id: "client.revoked", section: "client", status: "pass", message: `not revoked (${input.revocationSource})` });
  }
  return usable;
}

interface Verdict {
  served: boolean;
  summary: string;
  fix?: string;
}

const ALERTS: [RegExp, string, string | ((renew: string) => string)][] = [
  [/CERTIFICATE_REQUIRED/, "TLS alert certificate_required: the server requires a client certificate and none was sent", "install the client certificate (.p12) and make sure the client offers it; in a browser, restart it after importing"],
  [/UNKNOWN_CA/, "TLS alert unknown_ca: the server does not trust the certificate's issuer", "put the issuing CA's ca.pem in the server's client CA file and reload (after a CA rotation the server's bundle must be updated)"],
  [/CERTIFICATE_EXPIRED/, "TLS alert certificate_expired: the client certificate has expired", (renew) => `${renew}, then install the new .p12`],
  [/CERTIFICATE_REVOKED/, "TLS alert certificate_revoked: the client certificate is in the server's CRL", (renew) => `${renew} if the person should still get in`],
  [/BAD_CERTIFICATE/, "TLS alert bad_certificate: the server could not use the certificate (wrong key, unsupported key type or signature)", "check that certificate and key belong together and that the key is EC P-256/P-384 or RSA"],
  [/UNSUPPORTED_CERTIFICATE/, "TLS alert unsupported_certificate: the certificate's key usage does not allow client authentication", "issue it with pki issue-client (clientAuth)"],
  [/HANDSHAKE_FAILURE/, "TLS alert handshake_failure: no common protocol or cipher, or the certificate was refused", "compare ssl_protocols/ciphers with the client's; run openssl s_client -connect HOST:PORT for details"],
  [/KEY_VALUES_MISMATCH/, "the private key does not belong to the certificate", "use the key generated with this certificate"],
];

/** What a server answer means for mutual TLS. */
export function interpret(p: HttpProbe, renew: string): Verdict {
  if (!p.completed) {
    for (const [re, summary, fix] of ALERTS) if (re.test(p.errorCode ?? "") || re.test(p.errorMessage ?? "")) return { served: false, summary, fix: typeof fix === "string" ? fix : fix(renew) };
    return { served: false, summary: `the connection failed: ${p.errorMessage ?? p.errorCode}`, fix: "run openssl s_client -connect HOST:PORT -state for the handshake details" };
  }
  const reason = /\((FAILED:[^)]*|NONE)\)/.exec(p.body)?.[1];
  if (p.status === 496 || (p.status === 400 && /No required SSL certificate was sent/.test(p.body))) {
    return { served: false, summary: `HTTP ${p.status} "No required SSL certificate was sent" (nginx 496): no client certificate reached nginx`, fix: "the client did not send one: install the .p12 and restart the browser; with curl pass --cert/--key; a proxy in front of nginx does not forward client certificates" };
  }
  if (p.status === 495 || (p.status === 400 && /The SSL certificate error/.test(p.body))) {
    const why = reason && reason !== "NONE" ? reason.replace("FAILED:", "") : "the certificate did not verify";
    return { served: false, summary: `HTTP ${p.status} "The SSL certificate error" (nginx 495): ${why}`, fix: fixFor(why, renew) };
  }
  return { served: true, summary: `HTTP ${p.status}${p.protocol ? ` over ${p.protocol}` : ""}` };
}

function fixFor(why: string, renew: string): string {
  if (/revoked/.test(why)) return `the certificate is revoked: ${renew} if the person should still get in`;
  if (/expired/.test(why)) return `the certificate expired: ${renew}, then install the new .p12`;
  if (/CRL has expired|crl.*expired/i.test(why)) return "nginx's CRL expired and now refuses everyone: run pki crl and reload nginx (and schedule it: pki server-config systemd-timer)";
  if (/local issuer|unable to get|self.signed|unable to verify/.test(why)) return "the server does not trust the certificate's CA: put its ca.pem in ssl_client_certificate and reload";
  return "compare the certificate with the server's ssl_client_certificate and CRL (pki check, pki show)";
}

/** Node prints names as "C=NL\nO=Example\nCN=Root"; OpenSSL (and so s_client) as "C = NL, O = Example, CN = Root". */
function opensslName(name: string): string {
  return name.split("\n").map((l) => l.replace("=", " = ")).join(", ");
}

function normalize(name: string): string {
  return name.replace(/\s*=\s*/g, "=").replace(/\s*,\s*/g, ",").trim();
}

function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}
