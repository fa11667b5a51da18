/** A PKCS#11 token could not do what pki asked. `kind` is the PkiError kind it becomes; `code` the stable code. */
export class TokenError extends Error {
  constructor(
    readonly kind: "usage" | "not-found" | "conflict" | "secret" | "storage",
    message: string,
    readonly hint: string | undefined,
    readonly code: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}
