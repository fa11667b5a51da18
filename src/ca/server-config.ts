import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { cronWord, type Quoter, systemdPath, systemdPathWord, systemdWord, UNSAFE_IN_CONFIG } from "./config-quoting.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { type CertificateRecord, collect } from "../ledger/ledger.js";
import { SERVERS, type ServerKind, type ServerProfile } from "./server-profiles.js";
import { type ServerTarget } from "./server-targets.js";
import { type SettingValues, settingValues } from "./settings.js";
import { shellQuote } from "./shell-quote.js";

const TIMER_TEMPLATE = {
  "systemd-service": "timers/pki-crl.service",
  "systemd-timer": "timers/pki-crl.timer",
  cron: "timers/pki-crl.cron",
  "systemd-serve": "timers/pki-serve.service",
} as const;

function isJob(target: ServerTarget): target is keyof typeof TIMER_TEMPLATE {
  return target in TIMER_TEMPLATE;
}

const LISTEN = /^([0-9.]+:|\[[0-9a-f:]+\]:)?\d{1,5}$/i;
/** An http(s) origin: a host name, IPv4 or [IPv6] and a port, nothing a config line could mistake for syntax. */
const UPSTREAM = /^https?:\/\/((?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?)\/?$/;
/** What nginx server_name, Apache ServerName and a Caddy site address take: a host name, a wildcard, an address. */
const SERVER_NAME = /^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9._-]*[A-Za-z0-9_])?$|^\[?[0-9A-Fa-f:.]+\]?$/;
/** Template values that pki builds as whole lines (comments, directives) from values already checked. */
const MULTILINE = new Set(["INSTALL", "OCSP", "CRL_HOOK", "CAPABILITIES"]);

/**
 * Refuses a path or value that cannot be written into a configuration line safely (a newline
 * would inject directives, cron lines or unit settings), naming where it came from.
 */
function safeInConfig(value: string, from: string): string {
  if (UNSAFE_IN_CONFIG.test(value)) {
    throw new PkiError("usage", `${from} "${shown(value)}" contains a newline, control character, quote, backslash, $ or \``, "these cannot be written safely into a server configuration, cron line or unit file: choose a path without them", "UNSAFE_CONFIG_VALUE");
  }
  return value;
}

/** The root's subject as text in comments and messages: anything a format could read as syntax becomes "_". */
function subjectText(subject: string): string {
  return subject.replace(/[^\p{L}\p{M}\p{N} .,=_@+:/()'&-]/gu, "_");
}

/** Every user- and ledger-supplied value a rendering uses, checked before any is written. */
function checkParams(core: CaCore, p: ServerConfigParams): void {
  safeInConfig(core.home.dir, "the home path");
  p.pkiCommand.forEach((w) => safeInConfig(w, "pki's own path"));
  if (p.keyFile !== undefined) safeInConfig(p.keyFile, "--key-file");
  if (p.filesDir !== undefined) safeInConfig(p.filesDir, "--files-dir");
  if (p.passphraseFile !== undefined) safeInConfig(p.passphraseFile, "--timer-passphrase-file");
}

export interface ServerConfigParams {
  target: ServerTarget;
  /** server_name / ServerName. Default: the server certificate's name. */
  serverName?: string;
  /** "on" (default) refuses clients without a valid certificate; "optional" lets them through, unverified. */
  verify?: "on" | "optional";
  /** Chain depth to verify. Default 1: client certificates are issued directly by the root. */
  depth?: number;
  /** A server certificate from `pki issue-server`; default: the home's only valid one. */
  server?: string;
  /** Where the server's key (or HAProxy bundle) will be. Default: per server (see SERVERS). */
  keyFile?: string;
  /** Where a server that cannot read the CA home reads its copies of ca.pem, crl.pem, its certificate and key. */
  filesDir?: string;
  /** Address to listen on, e.g. "443" or "127.0.0.1:8443". Default: the server's usual port. */
  listen?: string;
  /** The application behind the proxy. Default "http://127.0.0.1:8080". */
  upstream?: string;
  /** nginx, apache: also ask `pki serve`'s OCSP responder (at the `url` setting) about every client certificate. */
  ocsp?: boolean;
  /** How the timer invokes pki: the program and its first arguments, e.g. ["/usr/bin/node", "/opt/pki/bin/pki"]. */
  pkiCommand: string[];
  /** Passphrase file for the timer. Default: /etc/pki-clients/passphrase. */
  passphraseFile?: string;
  /** systemd-serve: also run the mTLS API on this ADDRESS:PORT, presenting the server certificate `apiCert`. */
  api?: string;
  apiCert?: string;
  /** systemd-serve: `pki serve --ocsp-signer`. Default "ca". */
  ocspSigner?: "ca" | "delegated";
}

/** Renders a server or timer configuration from templates/, with this home's real absolute paths. */
export async function renderServerConfig(core: CaCore, ctx: Context, p: ServerConfigParams): Promise<string> {
  checkParams(core, p);
  const settings = await core.ledger.read((r) => settingValues(r));
  if ((p.api !== undefined || p.apiCert !== undefined || p.ocspSigner !== undefined) && p.target !== "systemd-serve") {
    throw new PkiError("usage", "--api, --api-cert and --ocsp-signer are for systemd-serve", undefined, "UNSUPPORTED_OPTION");
  }
  if (isJob(p.target)) return renderTimer(core, ctx, settings, p, p.target);
  const profile = SERVERS[p.target];
  const depth = p.depth ?? 1;
  if (!Number.isInteger(depth) || depth < 1 || depth > 9) throw new PkiError("usage", `--depth must be 1 to 9, not ${p.depth}`);
  const listen = p.listen ?? profile.port;
  if (!LISTEN.test(listen)) throw new PkiError("usage", `--listen "${shown(listen)}" must be PORT or ADDRESS:PORT`);
  const port = listen.split(":").pop()!;
  const address = listen.includes(":") ? listen.slice(0, listen.lastIndexOf(":")).replace(/^\[(.*)\]$/, "$1") || "0.0.0.0" : "0.0.0.0";
  const upstream = p.upstream ?? "http://127.0.0.1:8080";
  const up = UPSTREAM.exec(upstream);
  if (!up) throw new PkiError("usage", `--upstream "${shown(upstream)}" must be a URL like http://127.0.0.1:8080`);
  const verifyMode = p.verify ?? "on";
  const verify = profile.verify[verifyMode];
  if (verify === null) throw new PkiError("usage", `${p.target} has no --verify ${verifyMode}`, `leave --verify out: ${profile.label} always requires a valid client certificate here`, "UNSUPPORTED_OPTION");
  const name = (await serverCertificate(core, ctx, p.server, p.target)).name;
  const serverName = p.serverName ?? name.replace(/^wildcard\./, "*.");
  if (!SERVER_NAME.test(serverName)) {
    throw new PkiError("usage", `${p.serverName !== undefined ? "--server-name" : "the server certificate's name"} "${shown(serverName)}" is not a host name, wildcard or address`, "give one with --server-name, e.g. --server-name intranet.example.com", "UNSAFE_CONFIG_VALUE");
  }
  const files = filesFor(core, profile, p, name);
  const q = profile.quote;
  const values: Record<string, string> = {
    ROOT_SUBJECT: subjectText(core.root.subject),
    CA: q(files.ca),
    CRL: q(files.crl),
    CERT: q(files.cert),
    KEY: q(files.key),
    SERVER: name,
    SERVER_NAME: serverName,
    VERIFY: verify,
    DEPTH: String(depth),
    LISTEN: listen,
    ADDRESS: address,
    PORT: port,
    UPSTREAM: upstream.replace(/\/$/, ""),
    UPSTREAM_HOSTPORT: up[1]!,
    UPSTREAM_HOST: up[1]!.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1"),
    UPSTREAM_PORT: /:(\d+)$/.exec(up[1]!)?.[1] ?? (upstream.startsWith("https:") ? "443" : "80"),
    INSTALL: installSteps(core, profile, files, name),
    OCSP: p.ocsp ? ocspLines(settings, p.target) : "",
    CRL_HOOK: crlHook(core, profile, files),
  };
  return fill(core, profile.template, values);
}

/**
 * Revocation without reloads (nginx 1.19+, Apache 2.4): the server asks the responder during the
 * handshake. A pathlen:0 root has only leaves to check, so `leaf`.
 */
function ocspLines(settings: SettingValues, target: ServerKind): string {
  const url = settings.url;
  if (url === null) {
    throw new PkiError("usage", "--ocsp needs the URL where pki serve answers", "set it with: pki config set url http://HOST:PORT (then run pki serve --http HOST:PORT there)", "NO_CA_URL");
  }
  const responder = `${url}/ocsp`;
  if (target === "nginx") {
    return [
      "",
      "    # Revocation at once, without reloads: nginx asks pki serve about each client certificate",
      "    # and refuses it unless the answer is \"good\" (so keep pki serve running). A host name in",
      "    # the URL needs a `resolver` directive. Answers are cached until their nextUpdate",
      `    # (pki config set ocsp-lifetime, now ${settings["ocsp-lifetime"]}): that bounds how late a revocation can be seen.`,
      "    ssl_ocsp           leaf;",
      `    ssl_ocsp_responder ${responder};`,
      "    ssl_ocsp_cache     shared:pki_ocsp:1m;",
    ].join("\n");
  }
  if (target === "apache") {
    return [
      "",
      "    # Revocation at once, without reloads: Apache asks pki serve (with a nonce, no cache) about",
      "    # each client certificate during the handshake; keep pki serve running.",
      "    SSLOCSPEnable            leaf",
      `    SSLOCSPDefaultResponder  ${responder}`,
      "    SSLOCSPOverrideResponder on",
    ].join("\n");
  }
  throw new PkiError("usage", `--ocsp is for nginx and apache; ${SERVERS[target].label} does not ask an OCSP responder about client certificates`, "rely on its CRL (pki serve keeps it fresh) and its reload hook", "UNSUPPORTED_OPTION");
}

interface ServerFiles {
  ca: string;
  crl: string;
  cert: string;
  key: string;
  /** Copies in a directory the server's user can read; null when the server reads the home (as root). */
  dir: string | null;
}

function filesFor(core: CaCore, profile: ServerProfile, p: ServerConfigParams, name: string): ServerFiles {
  if (profile.filesDir === null && p.filesDir !== undefined) {
    throw new PkiError("usage", `${p.target} reads this home's files as root: --files-dir is for servers that run as their own user`, "leave --files-dir out (--key-file still says where the key goes)", "UNSUPPORTED_OPTION");
  }
  const copies = p.filesDir ?? profile.filesDir;
  if (copies === null) {
    return {
      ca: core.home.caCertificate,
      crl: core.home.crl,
      cert: core.home.certificate(name),
      key: p.keyFile ?? (profile.bundle ? `/etc/haproxy/${name}.pem` : `/etc/ssl/private/${name}.key`),
      dir: null,
    };
  }
  return { ca: join(copies, "ca.pem"), crl: join(copies, "crl.pem"), cert: join(copies, `${name}.pem`), key: p.keyFile ?? join(copies, `${name}.key`), dir: copies };
}

/** The certificate the configuration names: the one asked for, else the home's only valid server certificate. */
async function serverCertificate(core: CaCore, ctx: Context, requested: string | undefined, target: ServerTarget): Promise<CertificateRecord> {
  return core.ledger.read(async (r) => {
    if (requested !== undefined) {
      const rec = await core.find(r, requested);
      if (rec.kind !== "server") throw new PkiError("usage", `"${shown(rec.name)}" is a ${rec.kind} certificate; name one from pki issue-server`, undefined, "NOT_A_SERVER_CERTIFICATE");
      return rec;
    }
    const valid = await collect((page) => r.summaries({ kind: "server", state: "active", notAfterFrom: ctx.now.toISOString() }, page));
    const names = [...new Set(valid.map((s) => s.name))];
    if (names.length === 1) return (await r.activeByName(names[0]!, "server"))!;
    if (names.length === 0) {
      throw new PkiError("not-found", `${core.home.dir} has no valid server certificate for ${target} to use`, `issue one first: pki issue-server HOST, then pki server-config ${target} --server HOST`, "NO_SERVER_CERTIFICATE");
    }
    throw new PkiError("usage", `${core.home.dir} has ${names.length} server certificates (${names.map((n) => shown(n)).join(", ")}): which one should ${target} use?`, `choose with --server NAME, e.g. pki server-config ${target} --server ${shellQuote(names[0]!)}`, "SERVER_AMBIGUOUS");
  });
}

/** Shell lines, as comments, that put the files where the server's user can read them. */
function installSteps(core: CaCore, profile: ServerProfile, f: ServerFiles, name: string): string {
  const sh = shellQuote;
  const pki = `pki --home ${sh(core.home.dir)}`;
  const lines: string[] = [];
  if (f.dir !== null) {
    lines.push(`install -d -m 0750 -o root -g ${profile.group} ${sh(f.dir)}`, `install -m 0644 ${sh(core.home.caCertificate)} ${sh(f.ca)}`);
    if (profile.checksCrl) lines.push(`install -m 0644 ${sh(core.home.crl)} ${sh(f.crl)}`);
    lines.push(`install -m 0644 ${sh(core.home.certificate(name))} ${sh(f.cert)}`);
  }
  const keyGroup = profile.keyReadBy === "root" ? "root" : profile.group;
  const keyMode = profile.keyReadBy === "root" ? "0600" : "0640";
  // Owner and mode are set before the key appears under its name, and kept by later re-exports.
  lines.push(`${pki} export-key ${sh(name)} --unencrypted ${profile.bundle ? "--with-certificate " : ""}--out ${sh(f.key)} --owner root --group ${keyGroup} --mode ${keyMode}`);
  return lines.map((l) => `#   ${l}`).join("\n");
}

/** The `pki hook set crl` command that delivers each new CRL and makes the server read it. */
function crlHook(core: CaCore, profile: ServerProfile, f: ServerFiles): string {
  if (!profile.checksCrl) return "";
  const reload = profile.reload;
  const copy = f.dir !== null ? `install -m 0644 ${shellQuote(core.home.crl)} ${shellQuote(f.crl)}` : "";
  const command = [copy, reload].filter(Boolean).join(" && ");
  return command ? `pki --home ${shellQuote(core.home.dir)} hook set crl ${shellQuote(command)}` : "";
}

function renderTimer(core: CaCore, ctx: Context, settings: SettingValues, p: ServerConfigParams, target: keyof typeof TIMER_TEMPLATE): Promise<string> | string {
  if (target === "systemd-serve") return renderServeUnit(core, ctx, p);
  const word: Quoter = target === "cron" ? cronWord : systemdWord;
  const passphraseFile = p.passphraseFile ?? "/etc/pki-clients/passphrase";
  // pki serve listens on loopback unless told otherwise: exposing the responder is a choice.
  const listen = p.listen ?? "127.0.0.1:8080";
  if (!LISTEN.test(listen) || !listen.includes(":")) throw new PkiError("usage", `--listen "${shown(listen)}" must be ADDRESS:PORT for pki serve, e.g. 0.0.0.0:8080`);
  return fill(core, TIMER_TEMPLATE[target], {
    ROOT_SUBJECT: subjectText(core.root.subject),
    PKI: p.pkiCommand.map(word).join(" "),
    HOME: word(core.home.dir),
    HOME_PATH: systemdPathWord(core.home.dir),
    PASSPHRASE_FILE: target === "cron" ? word(passphraseFile) : systemdPath(passphraseFile),
    LISTEN: listen,
    // The job signs with the crl-lifetime setting (pki config), so the comment states it.
    CRL_LIFETIME: settings["crl-lifetime"]!,
  });
}

/**
 * The unit running `pki serve`: as the home's owner (root only when root owns it), without
 * capabilities but the one binding a port below 1024, with --api and --ocsp-signer when asked.
 */
async function renderServeUnit(core: CaCore, ctx: Context, p: ServerConfigParams): Promise<string> {
  const listens = [p.listen ?? "127.0.0.1:8080", ...(p.api !== undefined ? [p.api] : [])];
  for (const [flag, l] of [["--listen", listens[0]!], ...(p.api !== undefined ? [["--api", p.api]] : [])] as const) {
    if (!LISTEN.test(l) || !l.includes(":")) throw new PkiError("usage", `${flag} "${shown(l)}" must be ADDRESS:PORT for pki serve, e.g. 0.0.0.0:8080`);
  }
  if ((p.api === undefined) !== (p.apiCert === undefined)) throw new PkiError("usage", "--api ADDRESS:PORT and --api-cert NAME go together: the API presents that server certificate", "issue one with: pki issue-server HOST");
  const apiCert = p.apiCert !== undefined ? (await serverCertificate(core, ctx, p.apiCert, "systemd-serve")).name : undefined;
  const options = [
    ...(p.api !== undefined && apiCert !== undefined ? ["--api", p.api, "--api-cert", apiCert] : []),
    ...(p.ocspSigner === "delegated" ? ["--ocsp-signer", "delegated"] : []),
  ];
  const lowPort = listens.some((l) => Number(l.split(":").pop()) < 1024);
  const owner = statSync(core.home.dir).uid;
  return fill(core, TIMER_TEMPLATE["systemd-serve"], {
    ROOT_SUBJECT: subjectText(core.root.subject),
    API_COMMENT: apiCert !== undefined ? ", and the mTLS API" : "",
    PKI: p.pkiCommand.map(systemdWord).join(" "),
    HOME: systemdWord(core.home.dir),
    HOME_PATH: systemdPathWord(core.home.dir),
    PASSPHRASE_FILE: systemdPath(p.passphraseFile ?? "/etc/pki-clients/passphrase"),
    LISTEN: listens[0]!,
    SERVE_OPTIONS: options.map((o) => ` ${systemdWord(o)}`).join(""),
    // The home is the owner's alone (0700): pki runs as that user, by number as systemd allows.
    USER: owner === 0 ? "# Runs as root, who owns the home." : `User=${owner}`,
    PRIVATE_TMP: /^\/(var\/)?tmp\//.test(core.home.dir) ? "# Not PrivateTmp=yes: it would hide the home, which is under /tmp." : "PrivateTmp=yes",
    CAPABILITIES: lowPort ? "AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE" : "CapabilityBoundingSet=",
  });
}

function fill(core: CaCore, template: string, values: Record<string, string>): string {
  const text = readFileSync(join(core.options.templatesDir, template), "utf8");
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`template ${template} uses unknown placeholder ${key}`);
    // Every input was checked above; this guards the placeholders added later.
    if (!MULTILINE.has(key) && /[\u0000-\u001f\u007f]/.test(v)) throw new Error(`template ${template}: ${key} would span lines`);
    return v;
  });
}
