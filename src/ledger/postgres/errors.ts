import pg from "pg";
import { LedgerError } from "../errors.js";
import { describeDatabase } from "./url.js";

/** Socket-level failures: the server is down, unreachable, or went away mid-transaction. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOENT", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);
/** Node's TLS verification failures: the server is there but is not the one the URL trusts. */
const TLS_CODES = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

const PASSWORD_HINT = "give it in PKI_DATABASE_URL, PGPASSWORD or ~/.pgpass (never on the command line), and check pg_hba.conf";
const RETRY_HINT = "check that PostgreSQL is running and reachable from here, then run the command again (nothing was changed)";

/**
 * Maps node-postgres errors (SQLSTATE codes, socket and TLS errors) to LedgerError kinds, so
 * callers never parse PostgreSQL messages. Only errors from the server, the socket or the
 * driver are mapped: anything a callback throws (a PkiError with its own code) passes through.
 * Messages name the database as user@host:port/db: the URL's password never reaches a message.
 */
export function toLedgerError(e: unknown, url: string): unknown {
  if (e instanceof LedgerError || !(e instanceof Error)) return e;
  const db = describeDatabase(url);
  const code = String((e as { code?: unknown }).code ?? "");
  if (e instanceof pg.DatabaseError) return fromSqlState(code, e.message, db);
  const syscall = (e as NodeJS.ErrnoException).syscall;
  if (syscall === "open") {
    return new LedgerError("cant-open", `cannot read ${(e as NodeJS.ErrnoException).path ?? "a file"} named in the URL of ${db} (${code})`, "fix sslrootcert, sslcert or sslkey in PKI_DATABASE_URL");
  }
  if ((syscall !== undefined && NETWORK_CODES.has(code)) || DRIVER_LOST.test(e.message)) return unavailable(syscall !== undefined ? code : e.message.split("\n")[0]!.slice(0, 120), db);
  if (/client password must be a string/.test(e.message)) {
    return new LedgerError("permission", `PostgreSQL asks for a password for ${db}, and none was given`, PASSWORD_HINT);
  }
  if (TLS_CODES.test(code)) {
    return new LedgerError("cant-open", `TLS to the PostgreSQL ledger ${db} failed: ${e.message.split("\n")[0]!.slice(0, 160)}`, "check sslrootcert (the CA that signed the server's certificate) and that the URL's host is in the certificate");
  }
  return e;
}

/** What node-postgres itself says when the connection is gone or never came. */
const DRIVER_LOST = /^(Connection terminated|timeout expired|Client has encountered a connection error|The server does not support SSL)/;

function unavailable(why: string, db: string): LedgerError {
  return new LedgerError("unavailable", `the PostgreSQL ledger ${db} is unreachable (${why})`, RETRY_HINT);
}

function fromSqlState(code: string, message: string, db: string): LedgerError {
  // Class 08: connection exceptions; 57P01-3: the server shut down, crashed, or is starting.
  if (/^08/.test(code) || /^57P0[123]$/.test(code)) return unavailable(message.split("\n")[0]!.slice(0, 120), db);
  if (code === "28P01" || code === "28000") return new LedgerError("permission", `PostgreSQL refused the login to ${db} (${code === "28P01" ? "wrong password" : "no matching pg_hba.conf entry"})`, PASSWORD_HINT);
  if (code === "42501") return new LedgerError("permission", `the PostgreSQL user may not do this on ${db}: ${message}`, "make the pki user the owner of the database's schema");
  if (code === "3D000") return new LedgerError("cant-open", `no database ${db}`, "create it first (createdb), or fix the database name in the URL");
  if (code === "25006") return new LedgerError("read-only", `the PostgreSQL ledger ${db} is read-only (a standby?)`, "point PKI_DATABASE_URL at the primary");
  if (code === "53100") return new LedgerError("full", `PostgreSQL has no space left for ${db}`);
  if (code === "55P03") return new LedgerError("busy", `the PostgreSQL ledger ${db} is locked by another pki command that did not finish in time`, "try again when it is done (pki audit shows what ran)");
  if (/^23/.test(code)) return new LedgerError("conflict", message);
  return new LedgerError("io", `PostgreSQL (${db}): ${message} (SQLSTATE ${code})`);
}
