/**
 * Who acts and when, passed to every authority operation: one Authority serves many callers
 * (a server acts for each client), and tests move the clock.
 */
export interface Context {
  /** For the event log: an OS user name or a client certificate's name, never a secret. */
  actor: string;
  /** The operation's time: notBefore, revocation times, CRL thisUpdate and events all use it. */
  now: Date;
  /** Cancels the operation before it takes the ledger's write lock. */
  signal?: AbortSignal;
}
