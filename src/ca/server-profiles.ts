import { alwaysDoubleQuoted, bareWord, doubleQuoted, postgresString, type Quoter } from "./config-quoting.js";
import type { ServerTarget } from "./server-targets.js";

export type ServerKind = Exclude<ServerTarget, "systemd-service" | "systemd-timer" | "cron" | "systemd-serve">;

/** What pki needs to know to configure one server for client certificates. */
export interface ServerProfile {
  label: string;
  template: string;
  /** The server's words for --verify on/optional; null when that mode is not offered. */
  verify: Record<"on" | "optional", string | null>;
  /** The usual port, the default for --listen. */
  port: string;
  /** Whether it checks the CRL: Caddy and Redis do not (see the template and the README). */
  checksCrl: boolean;
  /** Where it reads copies of ca.pem, crl.pem, its certificate and key; null: it reads the home, as root. */
  filesDir: string | null;
  /** The group it runs as, which may read its files. */
  group: string;
  /** "root": the key is read before privileges are dropped (0600 root); else by `group` (0640 root:group). */
  keyReadBy: "root" | "user";
  /** One file with certificate and key (HAProxy) instead of two. */
  bundle: boolean;
  /** How to make it read a new CRL; "" when it reads the CRL on every connection (OpenVPN). */
  reload: string;
  /** How paths are written in its configuration. */
  quote: Quoter;
}

export const SERVERS: Record<ServerKind, ServerProfile> = {
  nginx: { label: "nginx", template: "servers/nginx.conf", verify: { on: "on", optional: "optional" }, port: "443", checksCrl: true, filesDir: null, group: "root", keyReadBy: "root", bundle: false, reload: "nginx -s reload", quote: doubleQuoted },
  apache: { label: "Apache", template: "servers/apache.conf", verify: { on: "require", optional: "optional" }, port: "443", checksCrl: true, filesDir: null, group: "root", keyReadBy: "root", bundle: false, reload: "apachectl graceful", quote: doubleQuoted },
  haproxy: { label: "HAProxy", template: "servers/haproxy.cfg", verify: { on: "required", optional: "optional" }, port: "443", checksCrl: true, filesDir: null, group: "root", keyReadBy: "root", bundle: true, reload: "systemctl reload haproxy", quote: doubleQuoted },
  postgresql: { label: "PostgreSQL", template: "servers/postgresql.conf", verify: { on: "verify-full", optional: null }, port: "5432", checksCrl: true, filesDir: "/etc/postgresql/pki", group: "postgres", keyReadBy: "user", bundle: false, reload: "systemctl reload postgresql", quote: postgresString },
  mosquitto: { label: "Mosquitto", template: "servers/mosquitto.conf", verify: { on: "true", optional: null }, port: "8883", checksCrl: true, filesDir: "/etc/mosquitto/pki", group: "mosquitto", keyReadBy: "user", bundle: false, reload: "systemctl reload mosquitto", quote: bareWord },
  openvpn: { label: "OpenVPN", template: "servers/openvpn.conf", verify: { on: "require", optional: null }, port: "1194", checksCrl: true, filesDir: "/etc/openvpn/server/pki", group: "nogroup", keyReadBy: "root", bundle: false, reload: "", quote: doubleQuoted },
  lighttpd: { label: "lighttpd", template: "servers/lighttpd.conf", verify: { on: "enable", optional: "disable" }, port: "443", checksCrl: true, filesDir: "/etc/lighttpd/pki", group: "www-data", keyReadBy: "root", bundle: false, reload: "systemctl restart lighttpd", quote: alwaysDoubleQuoted },
  caddy: { label: "Caddy", template: "servers/Caddyfile", verify: { on: "require_and_verify", optional: "verify_if_given" }, port: "443", checksCrl: false, filesDir: "/etc/caddy/pki", group: "caddy", keyReadBy: "user", bundle: false, reload: "", quote: doubleQuoted },
  redis: { label: "Redis", template: "servers/redis.conf", verify: { on: "yes", optional: "optional" }, port: "6379", checksCrl: false, filesDir: "/etc/redis/pki", group: "redis", keyReadBy: "user", bundle: false, reload: "", quote: doubleQuoted },
};
