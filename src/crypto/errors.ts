/** Why a cryptographic operation failed; the layers above turn these into user-facing messages. */
export type CryptoErrorCode =
  | "bad-passphrase" // decryption failed: wrong passphrase or password
  | "malformed" // input is not the DER/PEM structure it claims to be
  | "unsupported" // a well-formed structure using an algorithm we do not implement
  | "bad-signature"; // a signature that does not verify

export class CryptoError extends Error {
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "CryptoError";
  }
}
