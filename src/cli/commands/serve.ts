import { join } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
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
    .addOption(new Option("--ocsp-signer <signer>", "who signs OCSP answers: the CA key, or a delegated responder certificate serve issues and renews (key in memory only)").choices(["ca", "delegated"]).default("ca"))
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
--ocsp-signer delegated: answers are signed by a responder certificate (pki-ocsp-responder in
pki list: id-kp-OCSPSigning and id-pkix-ocsp-nocheck only, never valid for TLS) whose key exists
only in serve's memory; its lifetime is pki config set ocsp-signer-lifetime (default 7d).
Routes: POST /ocsp, GET /ocsp/{base64}, /crl.der, /crl.pem, /ca.pem, /ca.der, /health, /metrics.
API (--api): POST/GET /v1/certificates, GET /v1/certificates/NAME, POST /v1/certificates/NAME/revoke,
POST /v1/renew; admins (pki role set NAME admin) may use all, other certificates only renew themselves.
The CRL is signed again when a third of its lifetime remains (pki config set crl-lifetime 7d),
and the crl hook runs after each. One line a request goes to stderr; SIGTERM stops it cleanly
after in-flight requests finish. One instance per home ($PKI_HOME/serve.sock, mode 0600).`,
    )
    .action(async (flags: { http?: { host: string; port: number }; api?: { host: string; port: number }; apiCert?: string; ocspSigner: "ca" | "delegated" }, cmd: Command) => {
      if (flags.api && !flags.apiCert) throw new PkiError("usage", "--api needs --api-cert NAME: the server certificate the API presents", "issue one with: pki issue-server HOST");
      if (flags.apiCert && !flags.api) throw new PkiError("usage", "--api-cert goes with --api HOST:PORT");
      const opts = globals(cmd);
      if (!opts.passphraseFile && process.env.PKI_PASSPHRASE_FILE) opts.passphraseFile = process.env.PKI_PASSPHRASE_FILE;
      const [{ Authority }, { startServer }, { servedRunner }] = await Promise.all([import("../../ca/authority.js"), import("../../server/serve.js"), import("../served.js")]);
      const options = authorityOptions(opts);
      const authority = await Authority.open(options);
      // One line a request, written once per turn of the event loop: a write(2) for each line
      // cost as much as the rest of a cached OCSP answer.
      let pending = "";
      const flush = () => {
        const lines = pending;
        pending = "";
        if (lines) process.stderr.write(lines);
      };
      const log = (line: string) => {
        if (!pending) setImmediate(flush);
        pending += line + "\n";
      };
      let server;
      let responder: { serial: string; notAfter: Date } | null = null;
      try {
        const ctx = commandContext();
        const service = await authority.serve(ctx, flags.ocspSigner);
        responder = service.responderCertificate();
        const api = flags.api && flags.apiCert ? { ...flags.api, authority: await authority.api(ctx, flags.apiCert) } : null;
        server = await startServer({
          service,
          socketPath: join(options.home.dir, "serve.sock"),
          ...(flags.http ? { http: flags.http } : {}),
          ...(api ? { api } : {}),
          log,
          rssBytes: () => process.memoryUsage.rss(),
          cli: servedRunner(authority, options.home.dir, options.database),
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
      if (responder) log(`pki serve: OCSP answers signed by the delegated responder certificate ${responder.serial} (pki-ocsp-responder), valid until ${responder.notAfter.toISOString()}, renewed when a third of its lifetime remains`);
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
      flush();
    });
}

function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError("expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
  return { host: m[1] ?? m[2]!, port };
}
