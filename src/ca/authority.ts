import type { CrlReason } from "../crypto/crl.js";
import { x509 } from "../crypto/provider.js";
import { toPem } from "../crypto/pem.js";
import { openLedger } from "../ledger/ledger.js";
import { type AuthorityOptions, CaCore, DAY_MS } from "./core.js";
import { PkiError } from "./errors.js";
import { exportKey, type ExportKeyParams, exportPkcs12, type ExportParams, privateKeyPem } from "./export.js";
import { crlHook, setCrlHook } from "./hooks.js";
import { exportMobileconfig, type MobileconfigParams } from "./mobileconfig.js";
import { renderServerConfig, type ServerConfigParams } from "./server-config.js";
import { initRoot, type InitRootParams, type InitRootResult } from "./init.js";
import { issue, type IssueParams, type IssueResult, renew, type RenewParams, type RenewResult } from "./issuance.js";
import { type CrlResult, generateCrl, revoke, type RevokeResult } from "./revocation.js";
import { type CertificateStatus, type CertificateView, viewOf } from "./views.js";
import { type AuditReport, verifyAudit } from "./audit.js";
import { backup, restore } from "./backup.js";
import { checkHome, type Finding } from "./check.js";
import { changePassphrase } from "./passphrase.js";
import type { EventRecord } from "../ledger/ledger.js";

export type { AuthorityOptions } from "./core.js";
export type { IssueResult } from "./issuance.js";

export interface ListFilter {
  status?: CertificateStatus;
  /** Only valid certificates that expire within this many days. */
  expiringDays?: number;
}

/** The certificate authority of one home: every state change goes through here. */
export class Authority {
  private constructor(private readonly core: CaCore) {}

  /** Opens the CA in `options.home`; fails with "not-found" when there is none. */
  static open(options: AuthorityOptions): Authority {
    if (!options.home.exists()) {
      throw new PkiError("not-found", `no CA in ${options.home.dir}`, "create one with: pki init-root --cn NAME, or point --home / PKI_HOME at an existing one");
    }
    const ledger = openLedger(options.home.ledger);
    const root = ledger.activeRoot();
    if (!root) {
      ledger.close();
      throw new PkiError("not-found", `the ledger in ${options.home.dir} has no root CA`);
    }
    return new Authority(new CaCore(options, ledger, root));
  }

  static initRoot(options: AuthorityOptions, params: InitRootParams): Promise<InitRootResult> {
    return initRoot(options, params);
  }

  static restore(options: AuthorityOptions, file: string): Promise<{ findings: Finding[]; certificates: number }> {
    return restore(options, file);
  }

  close(): void {
    this.core.ledger.close();
  }

  check(repair: boolean): Promise<Finding[]> {
    return checkHome(this.core, repair);
  }

  events(): EventRecord[] {
    return this.core.ledger.events();
  }

  verifyAudit(): AuditReport {
    return verifyAudit(this.core.ledger);
  }

  backup(file: string): Promise<{ file: string; sha256: string; certificates: number }> {
    return backup(this.core, file);
  }

  changePassphrase(next: () => Promise<string>, onProgress?: (done: number, total: number) => void): Promise<{ keys: number }> {
    return changePassphrase(this.core, next, onProgress);
  }

  issue(params: IssueParams): Promise<IssueResult> {
    return issue(this.core, params);
  }

  renew(params: RenewParams): Promise<RenewResult> {
    return renew(this.core, params);
  }

  revoke(target: string, reason: CrlReason): Promise<RevokeResult> {
    return revoke(this.core, target, reason);
  }

  generateCrl(params: { days?: number; out?: string } = {}): Promise<CrlResult> {
    return generateCrl(this.core, params);
  }

  exportPkcs12(params: ExportParams): Promise<{ view: CertificateView; file: string }> {
    return exportPkcs12(this.core, params);
  }

  exportKey(params: ExportKeyParams): Promise<{ view: CertificateView; file: string; encrypted: boolean }> {
    return exportKey(this.core, params);
  }

  exportMobileconfig(params: MobileconfigParams): Promise<{ view: CertificateView; file: string }> {
    return exportMobileconfig(this.core, params);
  }

  serverConfig(params: ServerConfigParams): string {
    return renderServerConfig(this.core, params);
  }

  privateKeyPem(target: string): Promise<string | null> {
    return privateKeyPem(this.core, target);
  }

  /** Serials revoked in the ledger, and those in the newest CRL, for pki doctor. */
  revokedSerials(): Set<string> {
    return new Set(this.core.ledger.revokedEntries().map((r) => r.serial));
  }

  crlHook(): string | null {
    return crlHook(this.core);
  }

  setCrlHook(command: string | null): Promise<void> {
    return setCrlHook(this.core, command);
  }

  list(filter: ListFilter = {}): CertificateView[] {
    const now = this.core.now();
    const nowIso = now.toISOString();
    if (filter.expiringDays !== undefined) {
      const until = new Date(now.getTime() + filter.expiringDays * DAY_MS).toISOString();
      return this.core.ledger.query({ state: "active", notAfterFrom: nowIso, notAfterBefore: until }).map((r) => viewOf(r, now));
    }
    const s = filter.status;
    const q =
      s === "valid" ? { state: "active" as const, notAfterFrom: nowIso }
      : s === "expired" ? { state: "active" as const, notAfterBefore: nowIso }
      : s === "revoked" || s === "superseded" ? { state: s }
      : {};
    return this.core.ledger.query(q).map((r) => viewOf(r, now));
  }

  /** One certificate by name or serial, with its PEM. */
  show(target: string): { view: CertificateView; pem: string; certificate: x509.X509Certificate } {
    const rec = this.core.find(target);
    return { view: viewOf(rec, this.core.now()), pem: toPem(rec.der, "CERTIFICATE"), certificate: new x509.X509Certificate(rec.der) };
  }
}
