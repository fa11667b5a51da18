// The facade the CLI talks to. Every operation module is imported when first used, so
// that `pki list` or `pki --help` never loads @peculiar/x509 and WebCrypto (about 200 ms
// of start-up on this class of machine); see `npm run bench`.
import { existsSync, readFileSync, statSync } from "node:fs";
import type { CrlReason } from "../crypto/crl-reason.js";
import type { CertificateDetails } from "../crypto/describe.js";
import { toPem } from "../crypto/pem.js";
import { checkSqliteModule, type EventRecord, openLedger } from "../ledger/ledger.js";
import type { AuditReport } from "./audit.js";
import type { BackupResult } from "./backup.js";
import type { BatchParams, BatchResult } from "./batch.js";
import type { Finding } from "./check.js";
import { type AuthorityOptions, CaCore, DAY_MS } from "./core.js";
import { PkiError } from "./errors.js";
import { fileError } from "./home.js";
import type { ExportFormat, ExportKeyParams, ExportParams } from "./export.js";
import { crlHook, setCrlHook } from "./hooks.js";
import type { InitRootParams, InitRootResult } from "./init.js";
import type { IssueParams, IssueResult, RenewParams, RenewResult } from "./issuance.js";
import type { MobileconfigParams } from "./mobileconfig.js";
import type { NewPassphraseSource, PassphraseChangeResult, PassphraseProgress } from "./passphrase.js";
import type { CrlResult, RevokeOptions, RevokeResult } from "./revocation.js";
import type { ServerConfigParams } from "./server-config.js";
import type { ServingAuthority } from "./serving.js";
import { listSettings, setSetting, settingKey, type SettingView } from "./settings.js";
import { type CertificateStatus, type CertificateView, viewOf } from "./views.js";

export type { AuthorityOptions } from "./core.js";
export type { IssueResult } from "./issuance.js";
export type { CertificateDetails } from "../crypto/describe.js";

export interface ListFilter {
  status?: CertificateStatus;
  /** Only valid certificates that expire within this many days. */
  expiringDays?: number;
}

/** The certificate authority of one home: every state change goes through here. */
export class Authority {
  private constructor(private readonly core: CaCore) {}

  /**
   * Opens the CA in `options.home`; fails with "not-found" when there is none. With
   * `access: "read"` every change fails, and a home on a read-only mount opens.
   */
  static open(options: AuthorityOptions, access: "read" | "write" = "write"): Authority {
    if (!options.home.exists()) {
      try {
        statSync(options.home.ledger);
      } catch (e) {
        // existsSync says false for "permission denied" too: that is not "no CA".
        if ((e as NodeJS.ErrnoException).code === "EACCES") throw fileError(options.home.dir, e);
      }
      throw new PkiError("not-found", `no CA in ${options.home.dir}`, "create one with: pki init-root --cn NAME, or point --home / PKI_HOME at an existing one");
    }
    const ledger = openLedger(options.home.ledger, { readOnly: access === "read", ...(options.onLockWait ? { onLockWait: options.onLockWait } : {}) });
    const root = ledger.activeRoot();
    if (!root) {
      ledger.close();
      throw new PkiError("not-found", `the ledger in ${options.home.dir} has no root CA`);
    }
    return new Authority(new CaCore(options, ledger, root));
  }

  /** Throws a LedgerError "native-module" when SQLite's compiled module cannot load (call before asking for secrets). */
  static checkStorageModule(): void {
    checkSqliteModule();
  }

  static async initRoot(options: AuthorityOptions, params: InitRootParams): Promise<InitRootResult> {
    return (await import("./init.js")).initRoot(options, params);
  }

  static async restore(options: AuthorityOptions, file: string, onProgress?: (done: number, total: number) => void): Promise<{ findings: Finding[]; certificates: number }> {
    return (await import("./backup.js")).restore(options, file, onProgress);
  }

  close(): void {
    this.core.ledger.close();
  }

  async issue(params: IssueParams): Promise<IssueResult> {
    return (await import("./issuance.js")).issue(this.core, params);
  }

  async issueBatch(params: BatchParams): Promise<BatchResult> {
    return (await import("./batch.js")).issueBatch(this.core, params);
  }

  async renew(params: RenewParams): Promise<RenewResult> {
    return (await import("./issuance.js")).renew(this.core, params);
  }

  async revoke(target: string, reason: CrlReason, options: RevokeOptions = {}): Promise<RevokeResult> {
    return (await import("./revocation.js")).revoke(this.core, target, reason, options);
  }

  async generateCrl(params: { days?: number; out?: string } = {}): Promise<CrlResult> {
    return (await import("./revocation.js")).generateCrl(this.core, params);
  }

  /** Opens the CA key now (asking for the passphrase if needed), so that later steps do not ask. */
  async unlock(): Promise<void> {
    await this.core.unlockRoot();
  }

  /** What an export of `target` would hand out, and the warnings to show, before any secret is asked; throws when it is refused. */
  async exportCandidate(target: string, format: ExportFormat, force: boolean): Promise<{ view: CertificateView; warnings: string[] }> {
    return (await import("./export.js")).exportCandidate(this.core, target, format, force);
  }

  async exportPkcs12(params: ExportParams): Promise<{ view: CertificateView; file: string }> {
    return (await import("./export.js")).exportPkcs12(this.core, params);
  }

  async exportKey(params: ExportKeyParams): Promise<{ view: CertificateView; file: string; encrypted: boolean }> {
    return (await import("./export.js")).exportKey(this.core, params);
  }

  async exportMobileconfig(params: MobileconfigParams): Promise<{ view: CertificateView; file: string }> {
    return (await import("./mobileconfig.js")).exportMobileconfig(this.core, params);
  }

  async privateKeyPem(target: string): Promise<string | null> {
    return (await import("./export.js")).privateKeyPem(this.core, target);
  }

  async serverConfig(params: ServerConfigParams): Promise<string> {
    return (await import("./server-config.js")).renderServerConfig(this.core, params);
  }

  /** With `passphrase`, also proves that every stored key of a current certificate opens with it. */
  async check(repair: boolean, passphrase?: string): Promise<Finding[]> {
    return (await import("./check.js")).checkHome(this.core, repair, passphrase);
  }

  async verifyAudit(): Promise<AuditReport> {
    return (await import("./audit.js")).verifyAudit(this.core.ledger);
  }

  async backup(file: string, onProgress?: (done: number, total: number) => void): Promise<BackupResult> {
    return (await import("./backup.js")).backup(this.core, file, onProgress);
  }

  async changePassphrase(next: NewPassphraseSource, onProgress?: PassphraseProgress): Promise<PassphraseChangeResult> {
    return (await import("./passphrase.js")).changePassphrase(this.core, next, onProgress);
  }

  events(): EventRecord[] {
    return this.core.ledger.events();
  }

  /** Serials revoked in the ledger or in the crl.pem servers read (they can differ until a reload or repair). */
  async revokedSerials(): Promise<Set<string>> {
    const serials = new Set(this.core.ledger.revokedEntries().map((r) => r.serial));
    if (existsSync(this.core.home.crl)) {
      const [{ crlSerials }, { readDerOrPem }] = await Promise.all([import("../crypto/crl.js"), import("../crypto/pem.js")]);
      for (const s of crlSerials(readDerOrPem(readFileSync(this.core.home.crl), ["X509 CRL"], "CRL")) ?? []) serials.add(s);
    }
    return serials;
  }

  /** The authority as a long-running service: root key unlocked once, OCSP, CRL publishing (pki serve). */
  async serve(): Promise<ServingAuthority> {
    return (await import("./serving.js")).ServingAuthority.start(this.core);
  }

  settings(): SettingView[] {
    return listSettings(this.core);
  }

  /** Sets a `pki config` setting (null: back to its default). */
  async setSetting(key: string, value: string | null): Promise<SettingView> {
    return setSetting(this.core, settingKey(key), value);
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
      return this.core.ledger.summaries({ state: "active", notAfterFrom: nowIso, notAfterBefore: until }).map((r) => viewOf(r, now));
    }
    const s = filter.status;
    const q =
      s === "valid" ? { state: "active" as const, notAfterFrom: nowIso }
      : s === "expired" ? { state: "active" as const, notAfterBefore: nowIso }
      : s === "revoked" || s === "superseded" ? { state: s }
      : {};
    return this.core.ledger.summaries(q).map((r) => viewOf(r, now));
  }

  /** One certificate by name or serial: its view and PEM, plus issuer and extensions when `parse` is set. */
  async show(target: string, parse = false): Promise<{ view: CertificateView; pem: string; details: CertificateDetails | null }> {
    const rec = this.core.find(target);
    const details = parse ? (await import("../crypto/describe.js")).describeCertificate(rec.der) : null;
    return { view: viewOf(rec, this.core.now()), pem: toPem(rec.der, "CERTIFICATE"), details };
  }
}
