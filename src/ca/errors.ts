/** What kind of failure; the CLI maps each kind to one documented exit code. */
export type PkiErrorKind =
  | "usage" // the request itself is malformed (bad flag value, bad name)
  | "not-found" // no CA, no such certificate, no such file
  | "conflict" // would overwrite or duplicate something (CA exists, name taken, already revoked)
  | "secret" // passphrase or password missing, wrong or too weak
  | "invalid" // input content rejected: profile, CSR, policy
  | "storage"; // ledger or file system trouble

/**
 * The stable code a kind gets when the thrower names no more precise one. Codes are
 * UPPER_SNAKE_CASE, listed in the README ("Error codes"), and never renamed: scripts match them.
 */
const DEFAULT_CODE: Record<PkiErrorKind, string> = {
  usage: "USAGE",
  "not-found": "NOT_FOUND",
  conflict: "CONFLICT",
  secret: "BAD_SECRET",
  invalid: "INVALID_INPUT",
  storage: "STORAGE",
};

export class PkiError extends Error {
  /** Stable machine-readable code (e.g. NAME_TAKEN); `--json` errors carry it. */
  readonly code: string;

  constructor(
    readonly kind: PkiErrorKind,
    message: string,
    /** What the user can do about it, when there is something. */
    readonly hint?: string,
    code?: string,
  ) {
    super(message);
    this.name = "PkiError";
    this.code = code ?? DEFAULT_CODE[kind];
  }
}

/**
 * User input as an error message may echo it: at most `max` characters, cut with an
 * ellipsis, control characters made visible, so an 80 KB name or a pasted escape sequence
 * never floods or repaints the terminal.
 */
export function shown(input: string, max = 100): string {
  const visible = input.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  const chars = [...visible];
  return chars.length > max ? chars.slice(0, max - 1).join("") + "…" : visible;
}
