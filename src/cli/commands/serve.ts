import { join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { PkiError } from "../../ca/errors.js";
import { authorityOptions, commandContext, globals } from "../context.js";
import { runCrlHookAsync } from "../hooks.js";

export function register(program: Command): Command {
  return program
    .command("serve")
    .description("run the authority as a service: OCSP responder, CRL and root over HTTP, republishing the CRL before it lapses, and an mTLS API (--api)")
    .option("--http <host:port>", "plain HTTP listener for OCSP and CRL clients (e.g. 0.0.0.0:8080, [::1]:8080)", parseHostPort)
    .option("--api <host:port>", "HTTPS JSON API under /v1/ for clients with a certificate of this CA (needs --api-cert)", parseHostPort)
    .option("--api-cert <name>", "the server certificate (pki issue-server) the API presents")
    .addHelpText(
      "after",
      `
Examples:
  $ PKI_PASSPHRASE_FILE=/etc/pki-clients/passphrase pki serve --http 0.0.0.0:8080
  $ curl -s http://127.0.0.1:8080/health
  $ pki serve --http 0.0.0.0:8080 --api 0.0.0.0:8443 --api-cert ca.example.com
  $ curl --cacert ca.pem --cert certs/alice.pem --key alice.key https://ca.example.com:8443/v1/certificates
  $ openssl ocsp -issuer ca.pem -cert certs/alice.pem -url http://127.0.0.1:8080/ocsp

The root key is unlocked once at start (passphrase from --passphrase-file, $PKI_PASSPHRASE_FILE,
$PKI_PASSPHRASE or a prompt) and held in memory until the service stops.
Routes: POST /ocsp, GET /ocsp/{base64}, /crl.der, /crl.pem, /ca.pem, /ca.der, /health, /metrics.
API (--api): POST/GET /v1/certificates, GET /v1/certificates/NAME, POST /v1/certificates/NAME/revoke,
POST /v1/renew; admins (pki role set NAME admin) may use all, other certificates only renew themselves.
The CRL is signed again when a third of its lifetime remains (pki config set crl-lifetime 7d),
and the crl hook runs after each. One line a request goes to stderr; SIGTERM stops it cleanly
after in-flight requests finish. One instance per home ($PKI_HOME/serve.sock, mode 0600).`,
    )
    .action(async (flags: { http?: { host: string; port: number }; api?: { host: string; port: number }; apiCert?: string }, cmd: Command) => {
      if (flags.api && !flags.apiCert) throw new PkiError("usage", "--api needs --api-cert NAME: the server certificate the API presents", "issue one with: pki issue-server HOST");
      if (flags.apiCert && !flags.api) throw new PkiError("usage", "--api-cert goes with --api HOST:PORT");
      const opts = globals(cmd);
      if (!opts.passphraseFile && process.env.PKI_PASSPHRASE_FILE) opts.passphraseFile = process.env.PKI_PASSPHRASE_FILE;
      const [{ Authority }, { startServer }] = await Promise.all([import("../../ca/authority.js"), import("../../server/serve.js")]);
      const options = authorityOptions(opts);
      const authority = await Authority.open(options);
      const log = (line: string) => void process.stderr.write(line + "\n");
      let server;
      try {
        const ctx = commandContext();
        const service = await authority.serve(ctx);
        const api = flags.api && flags.apiCert ? { ...flags.api, authority: await authority.api(ctx, flags.apiCert) } : null;
        server = await startServer({
          service,
          socketPath: join(options.home.dir, "serve.sock"),
          ...(flags.http ? { http: flags.http } : {}),
          ...(api ? { api } : {}),
          log,
          rssBytes: () => process.memoryUsage.rss(),
          onCrlPublished: async (crl) => {
            const failure = await runCrlHookAsync(crl, options.home.dir);
            if (failure) log(`${new Date().toISOString()} ${failure}; the CRL is written, reload your servers by hand`);
          },
        });
      } catch (e) {
        await authority.close();
        throw e;
      }
      const hostPort = (a: { host: string; port: number }) => `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
      const where = [server.http ? `http://${hostPort(server.http)}` : "no HTTP listener", ...(server.api ? [`https://${hostPort(server.api)} (API)`] : [])].join(", ");
      log(`pki serve: ready on ${where} and ${server.socketPath} (pid ${process.pid})`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log(`pki serve: ${signal}, finishing in-flight requests`);
          server.close().then(resolve, resolve);
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
      await authority.close();
      log("pki serve: stopped");
    });
}

function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError("expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
  return { host: m[1] ?? m[2]!, port };
}
