import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { DEFAULT_CRL_DAYS } from "./revocation.js";

import { type ServerTarget } from "./server-targets.js";
export { SERVER_TARGETS, type ServerTarget } from "./server-targets.js";

const TEMPLATE: Record<ServerTarget, string> = {
  nginx: "servers/nginx.conf",
  apache: "servers/apache.conf",
  haproxy: "servers/haproxy.cfg",
  "systemd-service": "timers/pki-crl.service",
  "systemd-timer": "timers/pki-crl.timer",
  cron: "timers/pki-crl.cron",
};

/** Each server's words for "verification required" and "optional". */
const VERIFY: Record<"nginx" | "apache" | "haproxy", Record<"on" | "optional", string>> = {
  nginx: { on: "on", optional: "optional" },
  apache: { on: "require", optional: "optional" },
  haproxy: { on: "required", optional: "optional" },
};

export interface ServerConfigParams {
  target: ServerTarget;
  /** server_name / ServerName. Default: the server certificate's name, else "_". */
  serverName?: string;
  /** "on" (default) refuses clients without a valid certificate; "optional" lets them through, unverified. */
  verify?: "on" | "optional";
  /** Chain depth to verify. Default 1: client certificates are issued directly by the root. */
  depth?: number;
  /** A server certificate from `pki issue-server`, whose files the snippet names. */
  server?: string;
  /** Where the server's key (or HAProxy bundle) will be. Default: /etc/ssl/private/NAME.key (or .pem). */
  keyFile?: string;
  /** Address to listen on, e.g. "443" or "127.0.0.1:8443". Default "443". */
  listen?: string;
  /** The application behind the proxy. Default "http://127.0.0.1:8080". */
  upstream?: string;
  /** How the timer invokes pki, e.g. "/usr/local/bin/pki". */
  pkiCommand: string;
  /** Passphrase file for the timer. Default: /etc/pki-clients/passphrase. */
  passphraseFile?: string;
}

/** Renders a server or timer configuration from templates/, with this home's real absolute paths. */
export function renderServerConfig(core: CaCore, p: ServerConfigParams): string {
  const depth = p.depth ?? 1;
  if (!Number.isInteger(depth) || depth < 1 || depth > 9) throw new PkiError("usage", `--depth must be 1 to 9, not ${p.depth}`);
  const server = p.server ? core.find(p.server) : undefined;
  if (server && server.kind !== "server") throw new PkiError("usage", `"${server.name}" is a ${server.kind} certificate; name one from pki issue-server`);
  const name = server?.name ?? "SERVER";
  const listen = p.listen ?? "443";
  if (!/^([0-9.]+:|\[[0-9a-f:]+\]:)?\d{1,5}$/i.test(listen)) throw new PkiError("usage", `--listen "${listen}" must be PORT or ADDRESS:PORT`);
  const upstream = p.upstream ?? "http://127.0.0.1:8080";
  const up = /^https?:\/\/([^/]+)\/?$/.exec(upstream);
  if (!up) throw new PkiError("usage", `--upstream "${upstream}" must be a URL like http://127.0.0.1:8080`);
  const verifyMode = p.verify ?? "on";
  const kind = p.target === "nginx" || p.target === "apache" || p.target === "haproxy" ? p.target : null;
  const values: Record<string, string> = {
    ROOT_SUBJECT: core.root.subject,
    CA: core.home.caCertificate,
    CRL: core.home.crl,
    HOME: core.home.dir,
    SERVER: name,
    SERVER_NAME: p.serverName ?? (server ? server.name.replace(/^wildcard\./, "*.") : "_"),
    CERT: server ? core.home.certificate(server.name) : "/etc/ssl/certs/SERVER.pem",
    KEY: p.keyFile ?? (kind === "haproxy" ? `/etc/haproxy/${name}.pem` : `/etc/ssl/private/${name}.key`),
    VERIFY: kind ? VERIFY[kind][verifyMode] : "",
    DEPTH: String(depth),
    LISTEN: listen,
    PORT: listen.split(":").pop()!,
    UPSTREAM: upstream.replace(/\/$/, ""),
    UPSTREAM_HOSTPORT: up[1]!,
    PKI: p.pkiCommand,
    PASSPHRASE_FILE: p.passphraseFile ?? "/etc/pki-clients/passphrase",
    CRL_DAYS: String(DEFAULT_CRL_DAYS),
  };
  const template = readFileSync(join(core.options.templatesDir, TEMPLATE[p.target]), "utf8");
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`template ${TEMPLATE[p.target]} uses unknown placeholder ${key}`);
    return v;
  });
}
