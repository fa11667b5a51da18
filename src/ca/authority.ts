// The facade the CLI talks to. Every operation module is imported when first used, so
// that `pki list` or `pki --help` never loads @peculiar/x509 and WebCrypto (about 200 ms
// of start-up on this class of machine); see `npm run bench`.
import { existsSync, readFileSync, statSync } from "node:fs";
import type { CrlReason } from "../crypto/crl-reason.js";
import type { CertificateDetails } from "../crypto/describe.js";
import { toPem } from "../crypto/pem.js";
import { collect, type EventRecord, type RoleRecord } from "../ledger/ledger.js";
import { checkSqliteModule, openLedger } from "../ledger/open.js";
import type { ApiAuthority } from "./api.js";
import type { AuditReport } from "./audit.js";
import type { BackupResult, RestoreResult } from "./backup.js";
import type { BatchParams, BatchResult } from "./batch.js";
import type { Finding } from "./check.js";
import type { Context } from "./context.js";
import { type AuthorityOptions, CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { type FileAccess, fileError } from "./home.js";
import { ledgerLocation } from "./ledger-location.js";
import type { ExportFormat, ExportKeyParams, ExportParams } from "./export.js";
import type { CertificateExport, CertificateFormat } from "./export-cert.js";
import { crlHook, setCrlHook } from "./hooks.js";
import type { InitRootParams, InitRootResult } from "./init.js";
import type { JoinResult } from "./join.js";
import type { MigrateResult } from "./migrate.js";
import type { IssueParams, IssueResult, RenewParams, RenewResult } from "./issuance.js";
import type { MobileconfigParams } from "./mobileconfig.js";
import type { NewPassphraseSource, PassphraseChangeResult, PassphraseProgress } from "./passphrase.js";
import type { CrlCopy, CrlResult, RevokeOptions, RevokeResult } from "./revocation.js";
import type { RevokeBatchParams, RevokeBatchResult } from "./revocation-batch.js";
import type { RoleChange, RoleChoice } from "./roles.js";
import type { RetireParams, RetireResult, RootsOverview, RotateParams, RotateResult } from "./rotation.js";
import type { ServerConfigParams } from "./server-config.js";
import type { TokenKeyStatus } from "./root-key.js";
import type { UnrevokeResult } from "./unrevocation.js";
import type { OcspSignerChoice, ServingAuthority } from "./serving.js";
import { listSettings, setSetting, settingKey, type SettingView } from "./settings.js";
import type { TrustReport, TrustSelection } from "./trust/change.js";
import { type ListFilter, listViews, rootLabels } from "./reading.js";
import { type CertificateView, viewOf } from "./views.js";

export type { AuthorityOptions } from "./core.js";
export type { Context } from "./context.js";
export type { ListFilter } from "./reading.js";
export type { IssueResult } from "./issuance.js";
export type { CertificateDetails } from "../crypto/describe.js";
export type { KeyType } from "../crypto/keys.js";

/** The certificate authority of one home: every state change goes through here. */
export class Authority {
  private constructor(private readonly core: CaCore) {}

  /** False once another process rotated the root this authority unlocked (see CaCore.unlockedRootIsActive). */
  unlockedRootIsActive(): Promise<boolean> {
    return this.core.unlockedRootIsActive();
  }

  /**
   * Opens the CA in `options.home`; fails with "not-found" when there is none. With
   * `access: "read"` every change fails, and a home on a read-only mount opens.
   */
  static async open(options: AuthorityOptions, access: "read" | "write" = "write"): Promise<Authority> {
    if (!options.home.exists()) {
      try {
        statSync(options.home.ledger);
      } catch (e) {
        // existsSync says false for "permission denied" too: that is not "no CA".
        if ((e as NodeJS.ErrnoException).code === "EACCES") throw fileError(options.home.dir, e);
      }
      throw new PkiError("not-found", `no CA in ${options.home.dir}`, "create one with: pki init-root --cn NAME, or point --home / PKI_HOME at an existing one");
    }
    const ledger = await openLedger(ledgerLocation(options), { readOnly: access === "read", ...(options.onLockWait ? { onLockWait: options.onLockWait } : {}) });
    const root = await ledger.read((r) => r.activeRoot());
    if (!root) {
      await ledger.close();
      throw new PkiError("not-found", `the ledger in ${options.home.dir} has no root CA`);
    }
    return new Authority(new CaCore(options, ledger, root));
  }

  /** Throws a LedgerError "native-module" when SQLite's compiled module cannot load (call before asking for secrets). */
  static checkStorageModule(): void {
    checkSqliteModule();
  }

  static async initRoot(options: AuthorityOptions, ctx: Context, params: InitRootParams): Promise<InitRootResult> {
    return (await import("./init.js")).initRoot(options, ctx, params);
  }

  /** Makes the home another node of the CA in the PostgreSQL ledger `options.database` (pki join). */
  static async join(options: AuthorityOptions, ctx: Context, acceptHooks: boolean): Promise<JoinResult> {
    return (await import("./join.js")).joinCluster(options, ctx, acceptHooks);
  }

  static async restore(options: AuthorityOptions, ctx: Context, file: string, acceptHooks: boolean, onProgress?: (done: number, total: number) => void): Promise<RestoreResult> {
    if (options.database !== undefined) throw new PkiError("usage", "restore writes a SQLite home; restoring into PostgreSQL is not supported yet", "unset PKI_DATABASE_URL (or drop --database) to restore into a SQLite home", "UNSUPPORTED_OPTION");
    return (await import("./backup.js")).restore(options, ctx, file, acceptHooks, onProgress);
  }

  close(): Promise<void> {
    return this.core.ledger.close();
  }

  async issue(ctx: Context, params: IssueParams): Promise<IssueResult> {
    this.core.unlockEarly(this.core.root.keyEncrypted);
    return (await import("./issuance.js")).issue(this.core, ctx, params);
  }

  async issueBatch(ctx: Context, params: BatchParams): Promise<BatchResult> {
    this.core.unlockEarly(this.core.root.keyEncrypted);
    return (await import("./batch.js")).issueBatch(this.core, ctx, params);
  }

  async renew(ctx: Context, params: RenewParams): Promise<RenewResult> {
    this.core.unlockEarly(this.core.root.keyEncrypted);
    return (await import("./issuance.js")).renew(this.core, ctx, params);
  }

  async revoke(ctx: Context, target: string, reason: CrlReason, options: RevokeOptions = {}): Promise<RevokeResult> {
    this.core.unlockEarly(this.core.root.keyEncrypted);
    return (await import("./revocation.js")).revoke(this.core, ctx, target, reason, options);
  }

  /** Revokes every certificate a list of names and serials names (pki revoke --from), with one CRL at the end. */
  async revokeBatch(ctx: Context, params: RevokeBatchParams): Promise<RevokeBatchResult> {
    this.core.unlockEarly(this.core.root.keyEncrypted);
    return (await import("./revocation-batch.js")).revokeBatch(this.core, ctx, params);
  }

  /** Releases certificateHold revocations of a name or serial and signs a CRL without them. */
  async unrevoke(ctx: Context, target: string, options: { crlCopy?: CrlCopy } = {}): Promise<UnrevokeResult> {
    this.core.unlockEarly(this.core.root.keyEncrypted);
    return (await import("./unrevocation.js")).unrevoke(this.core, ctx, target, options);
  }

  async generateCrl(ctx: Context, params: { days?: number; copy?: CrlCopy } = {}): Promise<CrlResult> {
    this.core.unlockEarly(this.core.root.keyEncrypted);
    return (await import("./revocation.js")).generateCrl(this.core, ctx, params);
  }

  /** Starts a root rotation: a new root signs from now on, the current one stays trusted until retireOldRoots. */
  async rotateRoot(ctx: Context, params: RotateParams): Promise<RotateResult> {
    this.core.unlockEarly(this.core.root.keyEncrypted);
    return (await import("./rotation.js")).rotateRoot(this.core, ctx, params);
  }

  /** Ends a root rotation (pki rotate-root --finish). */
  async retireOldRoots(ctx: Context, params: RetireParams): Promise<RetireResult> {
    return (await import("./rotation.js")).retireRoots(this.core, ctx, params);
  }

  /** Every root: current, still trusted (overlap) or retired, and how many valid certificates each signed. */
  async roots(ctx: Context): Promise<RootsOverview> {
    return (await import("./rotation.js")).rootsOverview(this.core, ctx.now);
  }

  /** Checks the CA passphrase now (asking for it if needed), so that later steps do not ask. */
  async unlock(): Promise<void> {
    await this.core.verifyPassphrase();
  }

  /** What an export of `target` would hand out, and the warnings to show, before any secret is asked; throws when it is refused. */
  async exportCandidate(ctx: Context, target: string, format: ExportFormat, force: boolean): Promise<{ view: CertificateView; warnings: string[] }> {
    return (await import("./export.js")).exportCandidate(this.core, ctx, target, format, force);
  }

  async exportPkcs12(ctx: Context, params: ExportParams): Promise<{ view: CertificateView; file: string }> {
    this.core.unlockEarly(await this.storedKey(params.target));
    return (await import("./export.js")).exportPkcs12(this.core, ctx, params);
  }

  async exportKey(ctx: Context, params: ExportKeyParams): Promise<{ view: CertificateView; file: string; encrypted: boolean }> {
    this.core.unlockEarly(await this.storedKey(params.target));
    return (await import("./export.js")).exportKey(this.core, ctx, params);
  }

  /** A certificate (never a key) in `format`; no passphrase, nothing recorded. */
  async exportCertificate(ctx: Context, params: { target: string; format: CertificateFormat; out?: string; access?: FileAccess }): Promise<CertificateExport> {
    return (await import("./export-cert.js")).exportCertificate(this.core, ctx, params);
  }

  async exportMobileconfig(ctx: Context, params: MobileconfigParams): Promise<{ view: CertificateView; file: string }> {
    this.core.unlockEarly(await this.storedKey(params.target));
    return (await import("./mobileconfig.js")).exportMobileconfig(this.core, ctx, params);
  }

  async privateKeyPem(target: string): Promise<string | null> {
    this.core.unlockEarly(await this.storedKey(target));
    return (await import("./export.js")).privateKeyPem(this.core, target);
  }

  /** The encrypted key stored for `target`, if any (lookup errors are left to the operation). */
  private async storedKey(target: string): Promise<Uint8Array | null> {
    return this.core.ledger.read((r) => this.core.find(r, target)).then((rec) => rec.keyEncrypted, () => null);
  }

  async serverConfig(ctx: Context, params: ServerConfigParams): Promise<string> {
    return (await import("./server-config.js")).renderServerConfig(this.core, ctx, params);
  }

  /** With `passphrase`, also proves that every stored key of a current certificate opens with it. */
  async check(ctx: Context, repair: boolean, passphrase?: string): Promise<Finding[]> {
    return (await import("./check.js")).checkHome(this.core, ctx, repair, passphrase);
  }

  /** With `authenticate`, unlocks the history key (asking for the passphrase) and checks every MAC and the anchor; else consistency only. */
  async verifyAudit(authenticate = false): Promise<AuditReport> {
    const [{ verifyAudit }, { HistoryAuthenticator, readAnchor }] = await Promise.all([import("./audit.js"), import("./history.js")]);
    const auth = authenticate ? new HistoryAuthenticator(await this.core.historyKey()) : null;
    return this.core.ledger.read((r) => verifyAudit(r, auth, readAnchor(this.core.home)));
  }

  async backup(ctx: Context, file: string, onProgress?: (done: number, total: number) => void): Promise<BackupResult> {
    return (await import("./backup.js")).backup(this.core, ctx, file, onProgress);
  }

  /** Copies the ledger into the other engine (pki migrate --to), proven equal; the home keeps its own ledger. */
  async migrate(ctx: Context, to: string, onProgress?: (done: number, total: number) => void): Promise<MigrateResult> {
    this.core.unlockEarly(this.core.root.keyEncrypted);
    return (await import("./migrate.js")).migrateLedger(this.core, ctx, to, onProgress);
  }

  async changePassphrase(ctx: Context, next: NewPassphraseSource, onProgress?: PassphraseProgress): Promise<PassphraseChangeResult> {
    this.core.unlockEarly(this.core.root.keyEncrypted);
    return (await import("./passphrase.js")).changePassphrase(this.core, ctx, next, onProgress);
  }

  events(): Promise<EventRecord[]> {
    return this.core.ledger.read((r) => collect((page) => r.events(page)));
  }

  /** Serials revoked in the ledger or in the crl.pem servers read (they can differ until a reload or repair). */
  async revokedSerials(): Promise<Set<string>> {
    const serials = new Set((await this.core.ledger.read((r) => r.revokedEntries())).map((r) => r.serial));
    if (existsSync(this.core.home.crl)) {
      const [{ crlSerials }, { readDerOrPem }] = await Promise.all([import("../crypto/crl.js"), import("../crypto/pem.js")]);
      for (const s of crlSerials(readDerOrPem(readFileSync(this.core.home.crl), ["X509 CRL"], "CRL")) ?? []) serials.add(s);
    }
    return serials;
  }

  /** The authority as a long-running service: root key unlocked once, OCSP, CRL publishing (pki serve). */
  async serve(ctx: Context, ocspSigner: OcspSignerChoice = "ca"): Promise<ServingAuthority> {
    return (await import("./serving.js")).ServingAuthority.start(this.core, ctx, ocspSigner);
  }

  /** The mTLS API of `pki serve --api`, presenting the server certificate `certName`. */
  async api(ctx: Context, certName: string): Promise<ApiAuthority> {
    return (await import("./api.js")).ApiAuthority.start(this.core, certName, ctx.now);
  }

  /** The PKCS#11 URI of the root key, or null when the key is in the ledger. */
  async rootKeyUri(): Promise<string | null> {
    const { rootKeyUri } = await import("./root-key.js");
    return (await this.core.ledger.read((r) => rootKeyUri(r))) ?? null;
  }

  /** For a root key in a PKCS#11 token: whether it is reachable and signs (null: the key is in the ledger). */
  async tokenKeyStatus(): Promise<TokenKeyStatus | null> {
    const uri = await this.rootKeyUri();
    return uri ? (await import("./root-key.js")).tokenKeyStatus(this.core, uri) : null;
  }

  /** Puts the root into, or takes it out of, this machine's trust stores (pki trust). */
  async changeTrust(action: "install" | "uninstall", selection: TrustSelection): Promise<TrustReport[]> {
    return (await import("./trust/change.js")).changeTrust(this.core.root, action, selection);
  }

  settings(): Promise<SettingView[]> {
    return this.core.ledger.read((r) => listSettings(r));
  }

  /** Sets a `pki config` setting (null: back to its default). */
  async setSetting(ctx: Context, key: string, value: string | null): Promise<SettingView> {
    return setSetting(this.core, ctx, settingKey(key), value);
  }

  /** Names with an API role (pki role list). */
  roles(): Promise<RoleRecord[]> {
    return this.core.ledger.read((r) => r.roles());
  }

  /** Gives a name an API role, or takes it away with "none" (pki role set). */
  async setRole(ctx: Context, name: string, role: RoleChoice): Promise<RoleChange> {
    return (await import("./roles.js")).setRole(this.core, ctx, name, role);
  }

  crlHook(): Promise<string | null> {
    return this.core.ledger.read((r) => crlHook(r));
  }

  setCrlHook(ctx: Context, command: string | null): Promise<void> {
    return setCrlHook(this.core, ctx, command);
  }

  list(ctx: Context, filter: ListFilter = {}): Promise<CertificateView[]> {
    return listViews(this.core.ledger, ctx.now, filter);
  }

  /** One certificate by name or serial: its view and PEM, plus issuer and extensions when `parse` is set. */
  async show(ctx: Context, target: string, parse = false): Promise<{ view: CertificateView; pem: string; details: CertificateDetails | null }> {
    const [rec, roots] = await this.core.ledger.read(async (r) => [await this.core.find(r, target), rootLabels(await r.roots())] as const);
    const details = parse ? (await import("../crypto/describe.js")).describeCertificate(rec.der) : null;
    return { view: viewOf(rec, ctx.now, roots), pem: toPem(rec.der, "CERTIFICATE"), details };
  }
}
