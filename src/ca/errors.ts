/** What kind of failure; the CLI maps each kind to one documented exit code. */
export type PkiErrorKind =
  | "usage" // the request itself is malformed (bad flag value, bad name)
  | "not-found" // no CA, no such certificate, no such file
  | "conflict" // would overwrite or duplicate something (CA exists, name taken, already revoked)
  | "secret" // passphrase or password missing, wrong or too weak
  | "invalid" // input content rejected: profile, CSR, policy
  | "storage"; // ledger or file system trouble

export class PkiError extends Error {
  constructor(
    readonly kind: PkiErrorKind,
    message: string,
    /** What the user can do about it, when there is something. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = "PkiError";
  }
}
