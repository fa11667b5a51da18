import { spawn } from "node:child_process";
import { isIPv6 } from "node:net";
import { checkServerIdentity, connect, type PeerCertificate } from "node:tls";

export interface CertificateRequestProbe {
  /** null when it could not be told (openssl missing or the handshake failed early). */
  requested: boolean | null;
  /** "Acceptable client certificate CA names", as OpenSSL prints them ("C = NL, O = Example, CN = Root"). */
  caNames: string[];
  error?: string;
}

/**
 * Asks the server for its CertificateRequest with `openssl s_client -state`. In TLS 1.3 that
 * message is encrypted, but s_client is the client: it decrypts it and prints the CA names, so
 * this works for TLS 1.2 and 1.3 alike (what a packet capture could not do).
 */
export function probeCertificateRequest(address: string, port: number, servername: string | undefined, timeoutMs = 10_000): Promise<CertificateRequestProbe> {
  return new Promise((resolve) => {
    let out = "";
    let child;
    try {
      const connectTo = isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
      child = spawn("openssl", ["s_client", "-connect", connectTo, ...(servername ? ["-servername", servername] : ["-noservername"]), "-state"], { stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
      resolve({ requested: null, caNames: [], error: (e as Error).message });
      return;
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.stdin.end();
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ requested: null, caNames: [], error: `openssl is needed to see the CertificateRequest (${e.message})` });
    });
    child.on("close", () => {
      clearTimeout(timer);
      if (!/SSL_connect:SSLv3\/TLS read server (hello|certificate)/.test(out)) {
        resolve({ requested: null, caNames: [], error: "the TLS handshake did not get far enough to tell" });
        return;
      }
      const requested = /read server certificate request/.test(out);
      const block = /Acceptable client certificate CA names\n([\s\S]*?)\n(?:Requested Signature Algorithms|Client Certificate Types|Peer signing digest|---)/.exec(out);
      const caNames = block ? block[1]!.split("\n").map((l) => l.trim()).filter(Boolean) : [];
      resolve({ requested, caNames });
    });
  });
}

export interface HttpProbe {
  /** The TLS handshake and HTTP exchange completed. */
  completed: boolean;
  protocol: string | null;
  status: number | null;
  body: string;
  /** Node/OpenSSL error code when the connection failed, e.g. ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED. */
  errorCode: string | null;
  errorMessage: string | null;
  serverCertificate: PeerCertificate | null;
  /** Whether the server's certificate verified against `ca` (or the system store). */
  serverTrusted: boolean;
  serverTrustError: string | null;
}

export interface HttpProbeOptions {
  /** The address to connect to. */
  host: string;
  port: number;
  /** SNI; left out for IP-literal hosts, where RFC 6066 forbids it. */
  servername?: string;
  hostHeader: string;
  /** The name the server certificate must hold; default: servername, else host. */
  checkName?: string;
  path: string;
  cert?: string;
  key?: string;
  ca?: string;
  timeoutMs?: number;
}

/** One HTTPS GET over a raw TLS socket, so that TLS alerts arrive as codes rather than vague HTTP errors. */
export function probeHttp(o: HttpProbeOptions): Promise<HttpProbe> {
  return new Promise((resolve) => {
    const result: HttpProbe = { completed: false, protocol: null, status: null, body: "", errorCode: null, errorMessage: null, serverCertificate: null, serverTrusted: false, serverTrustError: null };
    let raw = "";
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      if (m) {
        result.completed = true;
        result.status = Number(m[1]);
        result.body = raw.slice(raw.indexOf("\r\n\r\n") + 4, raw.indexOf("\r\n\r\n") + 4 + 4000);
      }
      resolve(result);
    };
    let socket;
    try {
      const checkName = o.checkName ?? o.servername ?? o.host;
      socket = connect({
        host: o.host,
        port: o.port,
        ...(o.servername ? { servername: o.servername } : {}),
        rejectUnauthorized: false,
        checkServerIdentity: (_host, cert) => checkServerIdentity(checkName, cert),
        ...(o.cert ? { cert: o.cert } : {}),
        ...(o.key ? { key: o.key } : {}),
        ...(o.ca ? { ca: o.ca } : {}),
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      result.errorCode = err.code ?? "ERR_LOCAL";
      result.errorMessage = err.message;
      resolve(result);
      return;
    }
    socket.setTimeout(o.timeoutMs ?? 10_000, () => {
      result.errorCode ??= "ETIMEDOUT";
      result.errorMessage ??= "no answer in time";
      socket.destroy();
    });
    socket.on("secureConnect", () => {
      result.protocol = socket.getProtocol();
      result.serverCertificate = socket.getPeerCertificate(true);
      result.serverTrusted = socket.authorized;
      result.serverTrustError = socket.authorizationError ? String(socket.authorizationError) : null;
      socket.write(`GET ${o.path} HTTP/1.1\r\nHost: ${o.hostHeader}\r\nUser-Agent: pki-doctor\r\nConnection: close\r\n\r\n`);
    });
    socket.on("data", (d) => (raw += d.toString("latin1")));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      result.errorCode ??= e.code ?? "ERR";
      result.errorMessage ??= e.message;
    });
    socket.on("close", finish);
  });
}
