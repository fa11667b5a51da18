// `pki serve`'s listeners and lifetime: the home's Unix socket (always; it is also how a second
// instance is refused), optional plain HTTP for OCSP and CRL clients, the optional mTLS API,
// the CRL republishing timer, and a graceful close that lets in-flight requests finish.
import { chmodSync, unlinkSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect, type Socket } from "node:net";
import type { ApiAuthority } from "../ca/api.js";
import type { CrlResult } from "../ca/revocation.js";
import type { ServingAuthority } from "../ca/serving.js";
import { PkiError } from "../ca/errors.js";
import { createApiHandler, MAX_API_BODY_BYTES } from "./api-routes.js";
import { UPGRADE } from "./cli-protocol.js";
import { type CliHandler, serveCliConnection } from "./cli-socket.js";
import { createRequestHandler } from "./http-routes.js";
import { Metrics } from "./metrics.js";
import { inviteBodiesUpTo } from "./responses.js";

export interface ServeParams {
  service: ServingAuthority;
  /** `$PKI_HOME/serve.sock`: owner-only. */
  socketPath: string;
  /** Plain HTTP listener for OCSP and CRL clients; none when absent. */
  http?: { host: string; port: number };
  /** The mTLS JSON API (HTTPS, client certificates of this CA); none when absent. */
  api?: { host: string; port: number; authority: ApiAuthority };
  log: (line: string) => void;
  /** Called after the scheduler published a CRL (to run the crl hook). */
  onCrlPublished: (crl: CrlResult) => void | Promise<void>;
  /** Default: the system clock. */
  now?: () => Date;
  /** For /metrics' process_resident_memory_bytes; the CLI passes process.memoryUsage.rss. */
  rssBytes: () => number;
  /** Runs CLI commands sent over the socket (the fast path); without it clients run them directly. */
  cli?: CliHandler;
}

export interface RunningServer {
  /** Where each listener ended up (the HTTP port is known only after listening when 0 was asked). */
  http: { host: string; port: number } | null;
  api: { host: string; port: number } | null;
  socketPath: string;
  /** Stops accepting, lets in-flight requests finish (at most `graceMs`), stops the timer. */
  close(graceMs?: number): Promise<void>;
}

/** Slow clients cannot hold a connection: OCSP and CRL requests are one small round trip. */
const TIMEOUTS = { headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 5_000 };

export async function startServer(p: ServeParams): Promise<RunningServer> {
  let closing = false;
  const now = p.now ?? (() => new Date());
  const metrics = new Metrics();
  const handler = createRequestHandler({ service: p.service, metrics, log: p.log, now, rssBytes: p.rssBytes });
  const servers: Server[] = [];
  const make = () => {
    const s = createServer(TIMEOUTS, handler);
    // A broken request (bad header, oversized URL) gets a 400 and the connection closed; never a crash.
    s.on("clientError", (_e, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      else socket.destroy();
    });
    servers.push(s);
    return s;
  };

  await claimSocket(p.socketPath);
  const unix = make();
  const commands = new Set<Promise<void>>();
  const cli = p.cli;
  unix.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (!cli || String(req.headers.upgrade).toLowerCase() !== UPGRADE || closing) return void socket.destroy();
    const running = serveCliConnection(socket, head, cli, p.log).finally(() => commands.delete(running));
    commands.add(running);
  });
  await listen(unix, p.socketPath);
  chmodSync(p.socketPath, 0o600);

  const listenOrClose = async (s: Server, where: { host: string; port: number }) => {
    try {
      await listen(s, where.port, where.host);
    } catch (e) {
      await closeAll(servers, 0);
      removeSocket(p.socketPath);
      const code = (e as NodeJS.ErrnoException).code;
      throw new PkiError("storage", `cannot listen on ${where.host}:${where.port}: ${code === "EADDRINUSE" ? "the address is in use" : code === "EACCES" ? "permission denied" : (e as Error).message}`, undefined, "LISTEN_FAILED");
    }
    const addr = s.address() as { address: string; port: number };
    return { host: addr.address, port: addr.port };
  };

  const http = p.http ? await listenOrClose(make(), p.http) : null;

  let api: RunningServer["api"] = null;
  if (p.api) {
    const { certPem, keyPem, caPem } = p.api.authority.tls;
    const apiHandler = createApiHandler({ api: p.api.authority, metrics, log: p.log, now, onCrlPublished: p.onCrlPublished });
    // Client certificates are asked for but not enforced by the handshake: the API answers a
    // missing, foreign, expired or revoked one with a JSON 401 naming why, after checking the ledger.
    const s = createHttpsServer({ ...TIMEOUTS, handshakeTimeout: TIMEOUTS.headersTimeout, cert: certPem, key: keyPem, ca: caPem, requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.2" }, apiHandler);
    s.on("checkContinue", inviteBodiesUpTo(MAX_API_BODY_BYTES, apiHandler));
    s.on("tlsClientError", (_e, socket) => socket.destroy());
    s.on("clientError", (_e, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      else socket.destroy();
    });
    servers.push(s);
    api = await listenOrClose(s, p.api);
  }

  let timer: NodeJS.Timeout | null = null;
  const tick = async () => {
    try {
      const crl = await p.service.republishCrlIfDue(now());
      if (crl) {
        p.log(`${now().toISOString()} crl published number=${crl.number} nextUpdate=${crl.nextUpdate} revoked=${crl.revoked}`);
        await p.onCrlPublished(crl);
      }
    } catch (e) {
      p.log(`${now().toISOString()} crl republish failed: ${(e as Error).message}; retrying`);
    }
    try {
      const responder = await p.service.renewResponderIfDue(now());
      if (responder) p.log(`${now().toISOString()} ocsp responder certificate issued serial=${responder.serial} notAfter=${responder.notAfter.toISOString()}`);
    } catch (e) {
      p.log(`${now().toISOString()} ocsp responder renewal failed: ${(e as Error).message}; answers are signed by the current one until it works`);
    }
    let interval = 600_000;
    try {
      interval = await p.service.republishCheckIntervalMs();
    } catch (e) {
      p.log(`${now().toISOString()} cannot read crl-lifetime: ${(e as Error).message}; checking again in 10 min`);
    }
    if (!closing) timer = setTimeout(tick, interval);
  };
  await tick();

  return {
    http,
    api,
    socketPath: p.socketPath,
    async close(graceMs = 10_000) {
      closing = true;
      if (timer) clearTimeout(timer);
      await closeAll(servers, graceMs);
      // Commands the CLI sent finish as they would have directly: their output reaches their client.
      await Promise.all([...commands]);
      removeSocket(p.socketPath);
    },
  };
}

/**
 * One `pki serve` per home: a socket that answers means another instance is running; one that
 * refuses is left over from a killed instance and is replaced.
 */
async function claimSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once("connect", () => (c.destroy(), resolve(true)));
    c.once("error", () => resolve(false));
  });
  if (alive) throw new PkiError("conflict", `pki serve is already running on this home (${path} answers)`, "stop it first, or use another --home", "ALREADY_SERVING");
  removeSocket(path);
}

function removeSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* not there */
  }
}

function listen(s: Server, portOrPath: number | string, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    const done = () => (s.off("error", reject), resolve());
    if (typeof portOrPath === "string") s.listen(portOrPath, done);
    else s.listen(portOrPath, host, done);
  });
}

async function closeAll(servers: Server[], graceMs: number): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (!s.listening) return resolve();
          const force = setTimeout(() => s.closeAllConnections(), graceMs);
          s.close(() => (clearTimeout(force), resolve()));
          s.closeIdleConnections();
        }),
    ),
  );
}
