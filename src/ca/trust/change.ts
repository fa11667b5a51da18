import { existsSync } from "node:fs";
import { toPem } from "../../crypto/pem.js";
import type { CertificateRecord } from "../../ledger/ledger.js";
import { PkiError } from "../errors.js";
import { fingerprint } from "../records.js";
import { JavaStore } from "./java.js";
import { defaultNssDir, NssStore } from "./nss.js";
import type { TrustedRoot, TrustReport, TrustStore } from "./store.js";
import { SystemStore } from "./system.js";

export type { TrustOutcome, TrustReport, TrustStoreKind } from "./store.js";

/** Which stores to change; with none named, the system store and the user's NSS database if it exists. */
export interface TrustSelection {
  system?: boolean;
  /** A database folder, or `true` for the user's ~/.pki/nssdb. */
  nss?: string | true;
  java?: { file: string; storepass: string };
}

/**
 * Puts the root into (or takes it out of) each selected store, each step idempotent. Every
 * store is checked first (tools, permissions, databases, passwords), so a refusal changes
 * nothing; a tool failing midway leaves the stores already done as they are reported.
 */
export function changeTrust(rootRecord: CertificateRecord, action: "install" | "uninstall", selection: TrustSelection): TrustReport[] {
  const root: TrustedRoot = { commonName: rootRecord.name, pem: toPem(rootRecord.der, "CERTIFICATE"), sha256: fingerprint(rootRecord.der) };
  const stores = storesFor(root, selection);
  for (const store of stores) store.prepare();
  const reports: TrustReport[] = [];
  for (const store of stores) {
    try {
      reports.push({ store: store.kind, location: store.location, outcome: action === "install" ? install(store) : uninstall(store) });
    } catch (e) {
      if (e instanceof PkiError && reports.length > 0) {
        const done = reports.map((r) => `${r.store} ${r.outcome}`).join(", ");
        throw new PkiError(e.kind, e.message, `${e.hint ? `${e.hint}; ` : ""}already done: ${done}`, e.code);
      }
      throw e;
    }
  }
  return reports;
}

function install(store: TrustStore): TrustReport["outcome"] {
  if (store.contains()) return "already-present";
  store.add();
  return "installed";
}

function uninstall(store: TrustStore): TrustReport["outcome"] {
  if (!store.holdsAny()) return "not-present";
  store.remove();
  return "removed";
}

function storesFor(root: TrustedRoot, selection: TrustSelection): TrustStore[] {
  const named = selection.system || selection.nss !== undefined || selection.java !== undefined;
  const stores: TrustStore[] = [];
  if (selection.system || !named) stores.push(new SystemStore(root));
  if (selection.nss !== undefined) stores.push(new NssStore(root, selection.nss === true ? defaultNssDir() : selection.nss));
  else if (!named && existsSync(defaultNssDir())) stores.push(new NssStore(root, defaultNssDir()));
  if (selection.java) stores.push(new JavaStore(root, selection.java.file, selection.java.storepass));
  return stores;
}
