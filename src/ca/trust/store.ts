/** What the trust commands put into a store: one root certificate, under one label everywhere. */
export interface TrustedRoot {
  commonName: string;
  pem: string;
  /** SHA-256 of the DER, lowercase hex. */
  sha256: string;
}

export type TrustStoreKind = "system" | "nss" | "java";
export type TrustOutcome = "installed" | "already-present" | "removed" | "not-present";

export interface TrustReport {
  store: TrustStoreKind;
  location: string;
  outcome: TrustOutcome;
}

/** One trust store holding (or not) one root. */
export interface TrustStore {
  readonly kind: TrustStoreKind;
  readonly location: string;
  /** Throws a PkiError when the store cannot be changed (tool missing, not root, no database, wrong password); changes nothing. */
  prepare(): void;
  /** The root is in the store and in use. */
  contains(): boolean;
  /** Something of ours is there for `remove` to take out (for most stores, the same as `contains`). */
  holdsAny(): boolean;
  add(): void;
  remove(): void;
}

/**
 * The name a root has in every store (system file, NSS nickname, Java alias): the CA's
 * common name, for people listing the store, and its fingerprint, so two CAs with one name
 * (or a root and its successor) never take each other's place.
 */
export function trustLabel(root: TrustedRoot): string {
  const slug = root.commonName.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/, "");
  return `pki-${slug || "root"}-${root.sha256.slice(0, 16)}`;
}
