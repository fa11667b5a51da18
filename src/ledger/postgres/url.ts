/** A PostgreSQL connection URL, as libpq and node-postgres take it (postgres:// or postgresql://). */
export function isDatabaseUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

function parsed(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** libpq takes secrets as query parameters too: the login password, and the passphrase of the sslkey file. */
const SECRET_PARAMS = ["password", "sslpassword"];

/** True when the URL carries a password: such a URL must come from the environment or a file, never argv. */
export function hasPassword(url: string): boolean {
  const u = parsed(url);
  return u !== null && (u.password !== "" || SECRET_PARAMS.some((p) => u.searchParams.has(p)));
}

/** The URL without its passwords: what may be written to the home's `database` file or printed. */
export function withoutPassword(url: string): string {
  const u = parsed(url);
  if (!u || !hasPassword(url)) return url;
  u.password = "";
  for (const p of SECRET_PARAMS) u.searchParams.delete(p);
  return u.toString();
}

/**
 * "user@host:port/db" for messages: never the password, never the TLS file paths. A Unix
 * socket folder given as ?host=/dir (libpq's form) is shown in place of the host.
 */
export function describeDatabase(url: string): string {
  const u = parsed(url);
  if (!u) return "the PostgreSQL database (unparsable URL)";
  const host = u.searchParams.get("host") ?? (u.hostname || "localhost");
  const port = u.searchParams.get("port") ?? u.port;
  const user = u.username ? `${decodeURIComponent(u.username)}@` : "";
  const db = decodeURIComponent(u.pathname.slice(1)) || "(default database)";
  return `${user}${host}${port ? `:${port}` : ""}/${db}`;
}

/** Whether two URLs name the same database (host, port, database, user), whatever the password and TLS options. */
export function sameDatabase(a: string, b: string): boolean {
  return describeDatabase(a) === describeDatabase(b);
}
