// The authority behind `pki serve --api`: each request's caller is identified from its client
// certificate (api-callers.ts), its role checked, and one operation run with the caller's
// name as the actor of every event it records. Knows nothing of HTTP: src/server adapts.
import { toPem } from "../crypto/pem.js";
import type { CertificateQuery } from "../ledger/ledger.js";
import { type Caller, identifyCaller, type PeerCertificate, requireAdmin } from "./api-callers.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { classifyHosts } from "./hosts.js";
import { issue } from "./issuance.js";
import { nameKey } from "./names.js";
import { revoke, type RevokeResult } from "./revocation.js";
import { renewFromCsr } from "./self-renewal.js";
import { notFound } from "./suggest.js";
import { type CertificateStatus, type CertificateView, CrlReason, viewOf, when } from "./views.js";
import { caBundlePem } from "./roots.js";

export { AccessDenied, type Caller, type PeerCertificate } from "./api-callers.js";

/** What the API's HTTPS listener presents: its own server certificate and key, and the root clients must chain to. */
export interface ApiTls {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export interface IssueRequest {
  name: string;
  profile: "client" | "server";
  /** PEM or DER PKCS#10. */
  csr: Uint8Array;
  /** Server certificates: DNS names and IP addresses (default: the name). */
  hosts?: string[];
  days?: number;
}

export interface ListRequest {
  status?: CertificateStatus;
  /** A cursor from the previous page. */
  after?: string;
  limit: number;
}

export interface IssuedCertificate {
  certificate: CertificateView;
  pem: string;
}

export class ApiAuthority {
  private constructor(
    private readonly core: CaCore,
    readonly tls: ApiTls,
  ) {}

  /**
   * Prepares the API with `certName` as its own certificate: a current server certificate of
   * this CA whose key the ledger holds (refused when missing, revoked, superseded or expired).
   */
  static async start(core: CaCore, certName: string, now: Date): Promise<ApiAuthority> {
    const rec = await core.ledger.read(async (r) => {
      const stored = await r.nameWithKey(nameKey(certName));
      return stored === undefined ? undefined : r.latestByName(stored);
    });
    const refuse = (why: string) => new PkiError("invalid", `--api-cert "${shown(certName)}" ${why}`, `issue one with: pki issue-server HOST... and pass its name`, "API_CERT_UNUSABLE");
    if (!rec) throw new PkiError("not-found", `--api-cert "${shown(certName)}": no certificate with that name`, "issue one with: pki issue-server HOST...", "NOT_FOUND");
    if (rec.kind !== "server") throw refuse(`is a ${rec.kind} certificate, not a server certificate`);
    if (rec.state !== "active") throw refuse(`is ${rec.state}`);
    if (rec.notAfter <= now.toISOString()) throw refuse(`expired ${when(rec.notAfter)}`);
    if (!rec.keyEncrypted) throw refuse("was issued from a CSR: pki does not hold its key");
    const key = await core.unsealKey(rec.keyEncrypted, rec);
    // During a root rotation callers with a certificate of either trusted root get in (the set as of start).
    const caPem = caBundlePem(await core.ledger.read((r) => r.roots()));
    return new ApiAuthority(core, { certPem: toPem(rec.der, "CERTIFICATE"), keyPem: toPem(key, "PRIVATE KEY"), caPem });
  }

  /** The caller behind a TLS client certificate, checked against the ledger as it is now. */
  caller(peer: PeerCertificate, now: Date): Promise<Caller> {
    return this.core.ledger.read((r) => identifyCaller(r, peer, now));
  }

  async issue(caller: Caller, now: Date, req: IssueRequest): Promise<IssuedCertificate> {
    requireAdmin(caller, "issue certificates");
    if (req.profile === "client" && req.hosts) throw new PkiError("usage", `"hosts" are for the server profile`);
    const altNames = req.profile === "server" ? classifyHosts(req.hosts ?? [req.name]) : undefined;
    const result = await issue(this.core, this.context(caller, now), {
      name: req.name, kind: req.profile, csr: req.csr, ...(altNames ? { altNames } : {}), ...(req.days !== undefined ? { days: req.days } : {}),
    });
    // From the result, not read back: the certificate is issued even if the ledger became unreachable since the commit.
    return { certificate: result.view, pem: toPem(result.der, "CERTIFICATE") };
  }

  async list(caller: Caller, now: Date, req: ListRequest): Promise<{ certificates: CertificateView[]; next: string | null }> {
    requireAdmin(caller, "list certificates");
    const nowIso = now.toISOString();
    const s = req.status;
    const q: CertificateQuery =
      s === "valid" ? { state: "active", notAfterFrom: nowIso }
      : s === "expired" ? { state: "active", notAfterBefore: nowIso }
      : s === "revoked" || s === "superseded" ? { state: s }
      : {};
    const page = await this.core.ledger.read((r) => r.summaries(q, { after: req.after ?? null, limit: req.limit }));
    return { certificates: page.items.map((c) => viewOf(c, now)), next: page.next };
  }

  async show(caller: Caller, now: Date, target: string): Promise<IssuedCertificate> {
    requireAdmin(caller, "show certificates");
    const rec = await this.core.ledger.read((r) => this.core.find(r, target));
    return { certificate: viewOf(rec, now), pem: toPem(rec.der, "CERTIFICATE") };
  }

  async revoke(caller: Caller, now: Date, target: string, reason: CrlReason): Promise<RevokeResult> {
    requireAdmin(caller, "revoke certificates");
    return revoke(this.core, this.context(caller, now), target, reason);
  }

  /**
   * A certificate renewed from a new CSR, the old one superseded: the caller's own, or with
   * `name` (admins only, unless it is the caller's own name) the current one of that name.
   */
  async renew(caller: Caller, now: Date, csr: Uint8Array, name?: string): Promise<IssuedCertificate & { previous: CertificateView }> {
    let target = caller.record;
    if (name !== undefined && nameKey(name) !== nameKey(caller.record.name)) {
      requireAdmin(caller, `renew "${shown(name)}"`);
      target = await this.core.ledger.read(async (r) => {
        const [current] = await r.activeSharingName(name.normalize("NFC"));
        if (!current) throw await notFound(r, name, "name");
        return (await r.bySerial(current.serial))!;
      });
    }
    const { record, previous } = await renewFromCsr(this.core, this.context(caller, now), target, csr);
    return { certificate: viewOf(record, now), pem: toPem(record.der, "CERTIFICATE"), previous };
  }

  private context(caller: Caller, now: Date): Context {
    return { actor: caller.record.name, now };
  }
}
