/** Why the ledger failed, whatever the engine; the authority maps each to a stable error code. */
export type LedgerErrorCode =
  | "missing" // no ledger at that place
  | "permission-denied" // the file or its folder may not be read or written by this user
  | "locked" // another process held the write lock past the busy timeout
  | "corrupt" // the file exists but is not a ledger (not a database, or damaged)
  | "newer-schema" // written by a newer pki
  | "read-only" // the file system or database refuses writes
  | "full" // disk full
  | "conflict" // a uniqueness rule was violated (e.g. a serial already recorded)
  | "nested" // read or write called from inside a read or write callback (a bug)
  | "io"; // anything else the engine reported

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "LedgerError";
  }
}
