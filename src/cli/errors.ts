import { PkiError, type PkiErrorKind } from "../ca/errors.js";

/** Exit codes; documented in the README ("Exit codes") and stable for scripts. */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  secret: 5,
  invalid: 6,
  storage: 7,
  /** `check` or `audit --verify` found a problem. */
  problems: 8,
  /** The change succeeded, but the command set with `pki hook set crl` failed. */
  hookFailed: 9,
  /** Ctrl-C at a prompt; the same status a shell reports for a process killed by SIGINT (128 + 2). */
  interrupted: 130,
} as const;

export const EXIT_BY_KIND: Record<PkiErrorKind, number> = {
  usage: EXIT.usage,
  "not-found": EXIT.notFound,
  conflict: EXIT.conflict,
  secret: EXIT.secret,
  invalid: EXIT.invalid,
  storage: EXIT.storage,
};

/** A failure as `--json` reports it: `{"error": {code, message, hint, exitCode}}`. */
export interface ErrorReport {
  /** Stable UPPER_SNAKE code (README, "Error codes"). */
  code: string;
  message: string;
  hint: string | null;
  exitCode: number;
}

/** Stable codes for the ledger's and the crypto layer's own error codes; the README lists them. */
const LEDGER_CODES: Record<string, [string, number]> = {
  "not-a-database": ["LEDGER_NOT_A_DATABASE", EXIT.storage],
  "newer-schema": ["LEDGER_TOO_NEW", EXIT.storage],
  busy: ["LEDGER_LOCKED", EXIT.storage],
  "read-only": ["READ_ONLY", EXIT.storage],
  permission: ["PERMISSION_DENIED", EXIT.storage],
  "cant-open": ["LEDGER_CANT_OPEN", EXIT.storage],
  unavailable: ["LEDGER_UNAVAILABLE", EXIT.storage],
  "outcome-unknown": ["LEDGER_OUTCOME_UNKNOWN", EXIT.storage],
  full: ["DISK_FULL", EXIT.storage],
  io: ["LEDGER_IO", EXIT.storage],
  conflict: ["LEDGER_CONFLICT", EXIT.conflict],
  "native-module": ["SQLITE_MODULE_BROKEN", EXIT.storage],
};
const CRYPTO_CODES: Record<string, [string, number]> = {
  "bad-passphrase": ["BAD_PASSPHRASE", EXIT.secret],
  malformed: ["MALFORMED", EXIT.invalid],
  unsupported: ["UNSUPPORTED_ALGORITHM", EXIT.invalid],
  "bad-signature": ["BAD_SIGNATURE", EXIT.invalid],
};

/**
 * The typed errors of the layers below as one report; null for anything unexpected (a bug).
 * LedgerError, CryptoError and TokenError are matched by name: the CLI must not load the crypto stack
 * just to recognise its errors.
 */
export function reportOf(e: unknown): ErrorReport | null {
  if (e instanceof PkiError) return { code: e.code, message: e.message, hint: e.hint ?? null, exitCode: EXIT_BY_KIND[e.kind] };
  const { name, code, message, hint } = (e ?? {}) as { name?: string; code?: string; message?: string; hint?: string };
  const known = name === "LedgerError" ? LEDGER_CODES[code ?? ""] : name === "CryptoError" ? CRYPTO_CODES[code ?? ""] : undefined;
  if (known) return { code: known[0], message: message ?? "", hint: hint ?? null, exitCode: known[1] };
  // A PKCS#11 token failing while it signs (unplugged, session lost): its TokenError carries kind and code.
  if (name === "TokenError") return { code: code ?? "PKCS11_FAILED", message: message ?? "", hint: hint ?? null, exitCode: EXIT_BY_KIND[(e as { kind: PkiErrorKind }).kind] };
  if (name === "ExitPromptError") return { code: "CANCELLED", message: "cancelled", hint: null, exitCode: EXIT.interrupted };
  return null;
}
