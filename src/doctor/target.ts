import { isIP } from "node:net";

/** A doctor argument that cannot name an https:// endpoint; the CLI turns it into a usage error. */
export class DoctorTargetError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly code: "BAD_URL" | "BAD_RESOLVE",
  ) {
    super(message);
    this.name = "DoctorTargetError";
  }
}

/** Where doctor connects, and the name it presents in SNI and Host. */
export interface DoctorTarget {
  url: string;
  /** The URL's host, without IPv6 brackets: what the certificate must name. */
  host: string;
  port: number;
  path: string;
  /** The address connected to: `host`, or the ADDR of --resolve. */
  address: string;
  /** SNI; absent for an IP-literal host (RFC 6066 allows only host names there). */
  servername?: string;
  /** The Host header: host (bracketed if IPv6) plus the port when it is not 443. */
  hostHeader: string;
}

/**
 * Reads "https://host[:port]/path", or "host[:port][/path]" with the scheme left off (taken as
 * https), and curl's `--resolve HOST:PORT:ADDR`, which connects to ADDR but still presents HOST.
 */
export function doctorTarget(input: string, resolve?: string): DoctorTarget {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(input);
  let url: URL;
  try {
    url = new URL(hasScheme ? input : `https://${input}`);
  } catch {
    throw new DoctorTargetError(`"${input}" is not a URL`, "use https://HOST:PORT/ (for example https://intranet.example.com:8443/)", "BAD_URL");
  }
  if (url.protocol !== "https:") {
    throw new DoctorTargetError(`"${input}" is not an https:// URL: client certificates are sent only over TLS`, `use https://${url.host || "HOST:PORT"}/`, "BAD_URL");
  }
  if (!url.hostname) throw new DoctorTargetError(`"${input}" names no host`, "use https://HOST:PORT/", "BAD_URL");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || 443);
  let address = host;
  if (resolve !== undefined) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5}):(\[[0-9a-fA-F:.]+\]|[^:\s]+)$/.exec(resolve);
    const addr = m ? m[3]!.replace(/^\[(.*)\]$/, "$1") : "";
    if (!m || !isIP(addr)) throw new DoctorTargetError(`--resolve "${resolve}" is not HOST:PORT:ADDRESS`, "give it as curl does, e.g. --resolve intranet.example.com:443:192.0.2.10 (IPv6: [2001:db8::1])", "BAD_RESOLVE");
    const rHost = m[1]!.replace(/^\[(.*)\]$/, "$1");
    if (rHost.toLowerCase() !== host.toLowerCase() || Number(m[2]) !== port) {
      throw new DoctorTargetError(`--resolve "${resolve}" does not match the URL's ${url.host.includes(":") ? url.host : `${url.host}:${port}`}`, `use --resolve ${url.hostname}:${port}:ADDRESS`, "BAD_RESOLVE");
    }
    address = addr;
  }
  return {
    url: url.href,
    host,
    port,
    path: url.pathname + url.search,
    address,
    ...(isIP(host) ? {} : { servername: host }),
    hostHeader: url.host,
  };
}
