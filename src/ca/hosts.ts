import { isIP } from "node:net";
import { PkiError } from "./errors.js";

export interface HostName {
  type: "dns" | "ip";
  value: string;
}

// RFC 1123 labels; a leading "*." wildcard is allowed (RFC 6125 6.4.3), nothing else.
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Classifies server names: IP addresses become iPAddress SANs, the rest dNSName (lower-cased). */
export function classifyHosts(hosts: readonly string[]): HostName[] {
  if (hosts.length === 0) throw new PkiError("usage", "name at least one host: a DNS name or an IP address");
  const out: HostName[] = [];
  for (const raw of hosts) {
    const host = raw.trim();
    const bare = host.replace(/^\[(.*)\]$/, "$1");
    if (isIP(bare)) {
      out.push({ type: "ip", value: bare });
      continue;
    }
    const name = host.toLowerCase().replace(/\.$/, "");
    const labels = name.split(".");
    const ok = name.length <= 253 && labels.every((l, i) => (i === 0 && l === "*" && labels.length > 2) || LABEL.test(l));
    if (!ok) throw new PkiError("usage", `"${raw}" is neither an IP address nor a DNS name (letters, digits and hyphens; "*." only as the first label)`);
    out.push({ type: "dns", value: name });
  }
  return out;
}

/** The certificate name for a server: its first host, with a wildcard spelled out so it is a valid file name. */
export function serverName(first: HostName): string {
  return first.value.replace(/^\*\./, "wildcard.").replace(/:/g, "-");
}
