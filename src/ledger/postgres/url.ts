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

/** True when the URL carries a password: such a URL must come from the environment or a file, never argv. */
export function hasPassword(url: string): boolean {
  return (parsed(url)?.password ?? "") !== "";
}

/** The URL without its password: what may be written to the home's `database` file or printed. */
export function withoutPassword(url: string): string {
  const u = parsed(url);
  if (!u || u.password === "") return url;
  u.password = "";
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
