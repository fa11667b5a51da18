import type { PkiErrorKind } from "../ca/errors.js";

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
} as const;

export const EXIT_BY_KIND: Record<PkiErrorKind, number> = {
  usage: EXIT.usage,
  "not-found": EXIT.notFound,
  conflict: EXIT.conflict,
  secret: EXIT.secret,
  invalid: EXIT.invalid,
  storage: EXIT.storage,
};
