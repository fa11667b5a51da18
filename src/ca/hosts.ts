import { isIP } from "node:net";
import { domainToASCII, domainToUnicode } from "node:url";
import { PkiError, shown } from "./errors.js";
import { spoofingProblem } from "./spoofing.js";

export interface HostName {
  type: "dns" | "ip";
  /** What goes into the certificate: an IP address (IPv6 compressed, lower case) or an ASCII DNS name (A-labels). */
  value: string;
  /** The Unicode form of an internationalised DNS name, for people to read. */
  unicode?: string;
}

// RFC 1123 labels; "_" as well, which internal service names (SRV-style, Docker, Kubernetes) use
// and which TLS libraries accept in dNSName though RFC 5280 does not: hostWarnings says so.
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * Suffixes under which anyone can register a name (multi-label entries of the Public Suffix
 * List's ICANN section, for the countries and registries most names come from): "*.co.uk"
 * would match every company's host there. One-label suffixes ("*.com", "*.internal") are
 * refused by the rule that a wildcard needs two labels after it.
 */
const PUBLIC_SUFFIXES = new Set([
  "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "ac.uk", "gov.uk", "nhs.uk", "police.uk", "sch.uk",
  "com.au", "net.au", "org.au", "edu.au", "gov.au", "id.au", "asn.au",
  "co.nz", "org.nz", "net.nz", "ac.nz", "govt.nz", "geek.nz",
  "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "gr.jp", "ed.jp", "lg.jp",
  "co.kr", "or.kr", "ne.kr", "ac.kr", "go.kr", "re.kr",
  "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn",
  "com.tw", "net.tw", "org.tw", "edu.tw", "gov.tw", "idv.tw", "com.hk", "net.hk", "org.hk", "edu.hk", "gov.hk",
  "com.sg", "net.sg", "org.sg", "edu.sg", "gov.sg", "com.my", "net.my", "org.my", "edu.my", "gov.my",
  "co.in", "net.in", "org.in", "firm.in", "gen.in", "ind.in", "ac.in", "edu.in", "gov.in", "res.in",
  "co.id", "or.id", "ac.id", "go.id", "web.id", "co.th", "in.th", "ac.th", "go.th", "or.th",
  "com.ph", "net.ph", "org.ph", "com.vn", "net.vn", "org.vn", "com.pk", "net.pk", "org.pk",
  "co.za", "org.za", "net.za", "web.za", "gov.za", "ac.za", "co.ke", "or.ke", "ac.ke", "com.ng", "org.ng", "com.eg",
  "co.il", "org.il", "net.il", "ac.il", "gov.il", "com.tr", "net.tr", "org.tr", "gen.tr", "edu.tr", "gov.tr",
  "com.sa", "net.sa", "org.sa", "co.ae", "com.ua", "net.ua", "org.ua", "com.ru", "net.ru", "org.ru", "msk.ru", "spb.ru",
  "com.br", "net.br", "org.br", "gov.br", "edu.br", "art.br", "blog.br", "com.ar", "net.ar", "org.ar", "gob.ar",
  "com.mx", "net.mx", "org.mx", "gob.mx", "edu.mx", "com.co", "net.co", "org.co", "com.pe", "com.ve", "com.uy", "cl.cl",
  "com.pl", "net.pl", "org.pl", "com.pt", "com.es", "nom.es", "org.es", "co.at", "or.at", "ac.at", "gv.at",
  "com.gr", "co.hu", "com.ro", "co.it", "gov.it", "asso.fr", "com.fr", "gouv.fr", "co.no", "priv.no", "com.de",
  "eu.org", "co.com", "us.com", "uk.com", "eu.com", "gb.net", "us.org",
]);

/** IPv4 as the WHATWG URL parser would read it: a name ending in a number, or "0x…", is an address, not a DNS name. */
const NUMERIC_LABEL = /^(\d+|0x[0-9a-f]*)$/i;

/** Classifies server names: IP addresses become iPAddress SANs, the rest dNSName (lower-cased, A-labels). */
export function classifyHosts(hosts: readonly string[]): HostName[] {
  if (hosts.length === 0) throw new PkiError("usage", "name at least one host: a DNS name or an IP address");
  return hosts.map(classifyHost);
}

function classifyHost(raw: string): HostName {
  const host = raw.trim();
  const bracketed = /^\[(.*)\]$/.exec(host);
  const bare = bracketed ? bracketed[1]! : host;
  if (bracketed || bare.includes(":")) return { type: "ip", value: ipv6(raw, bare) };
  if (isIP(bare) === 4) return { type: "ip", value: bare };
  const typed = host.normalize("NFC").replace(/\.$/, "");
  const lastLabel = typed.slice(typed.lastIndexOf(".") + 1);
  if (NUMERIC_LABEL.test(lastLabel)) {
    throw new PkiError("usage", `"${shown(raw)}" looks like an IP address but is not one (IPv4 is four numbers 0-255 without leading zeros or a trailing dot, e.g. 10.0.0.30)`, undefined, "BAD_HOST");
  }
  const international = /[^\x00-\x7f]/.test(typed);
  if (international) {
    // Label by label: "пример.com" is a Cyrillic name under a Latin TLD, not a mixed-script one.
    for (const label of typed.toLowerCase().split(".")) {
      const problem = /[^\x00-\x7f]/.test(label) ? spoofingProblem(label) : null;
      if (problem) throw new PkiError("usage", `the host name "${shown(raw)}" has a label that ${problem}`, undefined, "CONFUSABLE_NAME");
    }
  }
  // UTS #46 processing: maps case and width, and refuses invalid punycode ("xn--zz") with "".
  const name = typed.startsWith("*.") ? wildcardToAscii(typed) : domainToASCII(typed);
  const labels = name.split(".");
  const ok = name !== "" && name.length <= 253 && labels.every((l, i) => (i === 0 && l === "*" && labels.length > 2) || LABEL.test(l));
  if (!ok) throw new PkiError("usage", `"${shown(raw)}" is neither an IP address nor a DNS name (letters, digits, hyphens and underscores; "*." only as the first label, followed by two or more labels)`, undefined, "BAD_HOST");
  if (labels[0] === "*" && PUBLIC_SUFFIXES.has(labels.slice(1).join("."))) {
    throw new PkiError("usage", `"${shown(raw)}" is a wildcard for a public suffix: it would match every domain registered under .${labels.slice(1).join(".")}`, "name your own domain: *.example.co.uk", "BAD_HOST");
  }
  const unicode = domainToUnicode(name);
  return { type: "dns", value: name, ...(unicode !== name ? { unicode } : {}) };
}

function wildcardToAscii(typed: string): string {
  const rest = domainToASCII(typed.slice(2));
  return rest === "" ? "" : `*.${rest}`;
}

function ipv6(raw: string, bare: string): string {
  // A zone ("%eth0") names an interface of one machine: it has no place in a certificate.
  if (isIP(bare) !== 6 || bare.includes("%")) {
    throw new PkiError("usage", `"${shown(raw)}" is not an IPv6 address (e.g. 2001:db8::1 or [::1], without a %zone)`, undefined, "BAD_HOST");
  }
  return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
}

/** What a holder of these host names should know: underscores work in TLS libraries, not in public DNS rules. */
export function hostWarnings(hosts: readonly HostName[]): string[] {
  return hosts
    .filter((h) => h.type === "dns" && h.value.includes("_"))
    .map((h) => `"${h.value}" has an underscore: fine for internal service names (OpenSSL, Go, Java accept it), but not a valid host name for public DNS or browsers`);
}

/** The certificate name for a server: its first host, spelled as a valid file name ("*." → "wildcard.", IPv6 ":" → "-"). */
export function serverName(first: HostName): string {
  if (first.type === "ip" && first.value.includes(":")) return first.value.replace(/:/g, "-").replace(/^-/, "0-").replace(/-$/, "-0");
  return first.value.replace(/^\*\./, "wildcard.");
}
