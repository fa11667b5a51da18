import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { SERVER_TARGETS, type ServerTarget } from "../../ca/server-targets.js";
import { PKI_COMMAND } from "../context.js";
import { withAuthority } from "./shared.js";

interface Flags {
  serverName?: string;
  verify: "on" | "optional";
  depth: number;
  server?: string;
  keyFile?: string;
  filesDir?: string;
  listen?: string;
  upstream?: string;
  ocsp?: boolean;
}

export function register(program: Command): Command {
  return program
    .command("server-config")
    .description("print a ready mTLS configuration for a server (nginx, apache, haproxy, postgresql, mosquitto, openvpn, lighttpd, caddy, redis), or a systemd timer / cron job that renews the CRL")
    .argument("<target>", SERVER_TARGETS.join(" | "))
    .option("--server <name>", "server certificate from pki issue-server to use (default: the home's only one)")
    .option("--key-file <path>", "where the server's key (HAProxy: cert+key bundle) is installed")
    .option("--files-dir <dir>", "postgresql, mosquitto, openvpn, lighttpd, caddy, redis: where the server reads its copies of ca.pem, crl.pem, its certificate and key (default: under /etc/SERVER/)")
    .option("--server-name <name>", "server_name / ServerName (default: the server certificate's name)")
    .addOption(new Option("--verify <mode>", "on: refuse clients without a valid certificate; optional: let them in, unverified").choices(["on", "optional"]).default("on"))
    .option("--depth <n>", "ssl_verify_depth; 1 when client certificates come straight from the root", (v) => {
      if (!/^\d$/.test(v)) throw new InvalidArgumentError("expected 1 to 9");
      return Number(v);
    }, 1)
    .option("--listen <addr>", "PORT or ADDRESS:PORT to listen on (default: the server's usual port)")
    .option("--upstream <url>", "the application behind the proxy (default http://127.0.0.1:8080)")
    .option("--ocsp", "nginx, apache: also ask pki serve's OCSP responder (pki config set url) about each client certificate: revocation without reloads")
    .option("--timer-passphrase-file <file>", "systemd/cron: the passphrase file the job reads (default /etc/pki-clients/passphrase)")
    .option("--api <addr:port>", "systemd-serve: also run the mTLS API there (with --api-cert)")
    .option("--api-cert <name>", "systemd-serve: the server certificate the API presents")
    .addOption(new Option("--ocsp-signer <signer>", "systemd-serve: pki serve --ocsp-signer").choices(["ca", "delegated"]))
    .addHelpText(
      "after",
      `
Examples:
  $ pki server-config nginx --server intranet.example.com > /etc/nginx/conf.d/mtls.conf
  $ pki server-config apache --server intranet.example.com --verify optional
  $ pki server-config nginx --server intranet.example.com --ocsp   # after: pki config set url http://ca.internal:8080
  $ pki server-config haproxy --server intranet.example.com --listen 8443
  $ pki server-config postgresql --server db.example.com > /etc/postgresql/15/main/conf.d/pki.conf
  $ pki server-config mosquitto --listen 8883 > /etc/mosquitto/conf.d/pki.conf
  $ pki server-config systemd-service > /etc/systemd/system/pki-crl.service
  $ pki server-config systemd-timer   > /etc/systemd/system/pki-crl.timer
  $ pki server-config systemd-serve --listen 0.0.0.0:8080 --api 0.0.0.0:8443 --api-cert ca.example.com --ocsp-signer delegated > /etc/systemd/system/pki-serve.service

Paths in the output are this home's real files (ca.pem, crl.pem, certs/). Servers that run as
their own user (PostgreSQL, Mosquitto, lighttpd, Caddy, Redis; OpenVPN's CRL) read copies: the
output starts with the commands that install them with the owner and mode the server demands.
Caddy and Redis do not check CRLs: their output says what to do instead.`,
    )
    .action(async (target: string, flags: Flags & { timerPassphraseFile?: string; api?: string; apiCert?: string; ocspSigner?: "ca" | "delegated" }, cmd: Command) => {
      if (!(SERVER_TARGETS as readonly string[]).includes(target)) {
        const { PkiError } = await import("../../ca/errors.js");
        throw new PkiError("usage", `unknown target "${target}"; choose one of ${SERVER_TARGETS.join(", ")}`);
      }
      await withAuthority(cmd, async (authority, _opts, ctx) => {
        process.stdout.write(
          await authority.serverConfig(ctx, {
            target: target as ServerTarget,
            verify: flags.verify,
            depth: flags.depth,
            pkiCommand: PKI_COMMAND,
            ...(flags.server !== undefined ? { server: flags.server } : {}),
            ...(flags.keyFile !== undefined ? { keyFile: resolve(flags.keyFile) } : {}),
            ...(flags.filesDir !== undefined ? { filesDir: resolve(flags.filesDir) } : {}),
            ...(flags.serverName !== undefined ? { serverName: flags.serverName } : {}),
            ...(flags.listen !== undefined ? { listen: flags.listen } : {}),
            ...(flags.upstream !== undefined ? { upstream: flags.upstream } : {}),
            ...(flags.ocsp ? { ocsp: true } : {}),
            ...(flags.timerPassphraseFile !== undefined ? { passphraseFile: resolve(flags.timerPassphraseFile) } : {}),
            ...(flags.api !== undefined ? { api: flags.api } : {}),
            ...(flags.apiCert !== undefined ? { apiCert: flags.apiCert } : {}),
            ...(flags.ocspSigner !== undefined ? { ocspSigner: flags.ocspSigner } : {}),
          }),
        );
      }, "read");
    });
}
