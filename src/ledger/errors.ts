/** Why the ledger failed, whatever the engine; the CLI maps each to a stable error code. */
export type LedgerErrorCode =
  | "not-a-database" // the file exists but is not SQLite
  | "unavailable" // the database server cannot be reached (PostgreSQL down, network, connection lost mid-transaction)
  | "outcome-unknown" // the connection was lost during COMMIT: the change may or may not be recorded
  | "newer-schema" // written by a newer pki
  | "busy" // another process held the lock past the busy timeout
  | "read-only" // the home or database file is on a read-only file system, or SQLite opened it read-only
  | "permission" // the home or database file may not be written by this user
  | "cant-open" // SQLite could not open the database or its -wal/-shm files, for no reason we can see
  | "full" // disk full
  | "conflict" // a uniqueness rule was violated (e.g. a serial already recorded)
  | "native-module" // better-sqlite3's compiled addon is missing, broken or built for another Node
  | "nested" // read or write called from inside a read or write callback (a bug)
  | "io"; // anything else the database reported

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    /** What the user can do about it, when there is something. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = "LedgerError";
  }
}
