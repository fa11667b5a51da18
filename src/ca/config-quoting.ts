import { shellQuote } from "./shell-quote.js";

/** How a value is written into one configuration format, so a home under "/srv/my pki" still works. */
export type Quoter = (value: string) => string;

const PLAIN = /^[A-Za-z0-9_@+=:,./-]+$/;

/** systemd unit files: specifiers (%) and variables ($) are expanded, even inside quotes. */
export const systemdWord: Quoter = (v) => {
  const escaped = v.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return PLAIN.test(v) ? escaped : `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
};

/** A systemd setting that takes the rest of the line as a path: only specifiers need escaping. */
export const systemdPath: Quoter = (v) => v.replace(/%/g, "%%");

/** A systemd setting that takes a space-separated list of paths (ReadWritePaths=): one quoted word. */
export const systemdPathWord: Quoter = (v) => {
  const escaped = systemdPath(v);
  return PLAIN.test(v) ? escaped : `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
};

/**
 * Characters no configuration format here can carry safely in a path or value: a newline ends
 * the directive (and starts the attacker's), a quote or backslash ends or bends a quoted string,
 * `$` and the backtick expand in nginx, systemd and shells.
 */
export const UNSAFE_IN_CONFIG = /[\u0000-\u001f\u007f"\\$`]/;

/** crontab commands go to /bin/sh, but cron first turns every unescaped % into a newline. */
export const cronWord: Quoter = (v) => shellQuote(v).replace(/%/g, "\\%");

/** nginx, Apache, HAProxy, OpenVPN, Caddy, Redis: a double-quoted string, with backslash escapes, when needed. */
export const doubleQuoted: Quoter = (v) => (PLAIN.test(v) ? v : `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);

/** Always double-quoted (lighttpd, which requires strings in quotes). */
export const alwaysDoubleQuoted: Quoter = (v) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/** PostgreSQL settings: single quotes, a quote doubled. */
export const postgresString: Quoter = (v) => `'${v.replace(/'/g, "''")}'`;

/** Mosquitto takes the rest of the line as the value: spaces need no quoting, and quotes would be kept. */
export const bareWord: Quoter = (v) => v;
