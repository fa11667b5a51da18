import { LedgerError } from "../errors.js";
import { describeDatabase } from "./url.js";

/** Socket-level failures: the server is down, unreachable, or went away mid-transaction. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOENT", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);
/** Node's TLS verification failures: the server is there but is not the one the URL trusts. */
const TLS_CODES = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

const RETRY_HINT = "check that PostgreSQL is running and reachable from here, then run the command again (nothing was changed)";

/**
 * Maps node-postgres errors (SQLSTATE codes, socket and TLS errors) to LedgerError kinds, so
 * callers never parse PostgreSQL messages. Messages name the database as user@host:port/db:
 * the URL's password never reaches a message.
 */
export function toLedgerError(e: unknown, url: string): unknown {
  if (e instanceof LedgerError) return e;
  const code = String((e as { code?: unknown }).code ?? "");
  const message = (e as Error).message ?? String(e);
  const db = describeDatabase(url);
  if (NETWORK_CODES.has(code) || /^08/.test(code) || code === "57P01" || code === "57P02" || code === "57P03" || /Connection terminated|timeout expired|Client has encountered a connection error/i.test(message)) {
    const why = code && !/^\d/.test(code) ? code : message.split("\n")[0]!.slice(0, 120);
    return new LedgerError("unavailable", `the PostgreSQL ledger ${db} is unreachable (${why})`, RETRY_HINT);
  }
  if (TLS_CODES.test(code) || /self[- ]signed certificate|certificate verify|Hostname\/IP does not match/i.test(message)) {
    return new LedgerError("cant-open", `TLS to the PostgreSQL ledger ${db} failed: ${message.split("\n")[0]!.slice(0, 160)}`, "check sslrootcert (the CA that signed the server's certificate) and that the URL's host is in the certificate");
  }
  if (code === "28P01" || code === "28000") return new LedgerError("permission", `PostgreSQL refused the login to ${db} (${code === "28P01" ? "wrong password" : "no matching pg_hba.conf entry"})`, "check the password (PKI_DATABASE_URL, PGPASSWORD or ~/.pgpass) and pg_hba.conf");
  if (code === "42501") return new LedgerError("permission", `the PostgreSQL user may not do this on ${db}: ${message}`, "grant the pki user ownership of the database's schema");
  if (code === "3D000") return new LedgerError("cant-open", `no database ${db}`, "create it first (createdb), or fix the database name in the URL");
  if (code === "25006") return new LedgerError("read-only", `the PostgreSQL ledger ${db} is read-only (a standby?)`, "point PKI_DATABASE_URL at the primary");
  if (code === "53100") return new LedgerError("full", `PostgreSQL has no space left for ${db}`);
  if (code === "55P03") return new LedgerError("busy", `the PostgreSQL ledger ${db} is locked by another pki command that did not finish in time`, "try again when it is done (pki audit shows what ran)");
  if (/^23/.test(code)) return new LedgerError("conflict", message);
  if (/^[0-9A-Z]{5}$/.test(code)) return new LedgerError("io", `PostgreSQL (${db}): ${message} (SQLSTATE ${code})`);
  return e;
}
