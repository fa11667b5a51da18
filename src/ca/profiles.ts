import { isIP } from "node:net";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  EXTENDED_KEY_USAGES,
  type ExtensionsSpec,
  type GeneralNameSpec,
  KEY_USAGES,
  type KeyUsageName,
} from "../crypto/extensions.js";
import { NAME_ATTRIBUTES, type NameAttribute } from "../crypto/certificates.js";
import { MAX_SMALL_FILE_BYTES, readBounded } from "./bounded-read.js";
import { PkiError } from "./errors.js";
import { type IniEntry, type IniFile, parseIni } from "./ini.js";

/** What a profile decides about a certificate: its subject and its extensions. */
export interface Profile {
  file: string;
  subject: NameAttribute[];
  extensions: ExtensionsSpec;
  /**
   * What a CSR's own extensions may add (OpenSSL's copy_extensions, set in [ req ]): "copy"
   * (default) takes its subjectAltNames and narrower key usages, "none" refuses a CSR asking for any.
   */
  copyExtensions: "copy" | "none";
}

/** Variables a profile can read as `$ENV::NAME`. */
export interface ProfileVariables {
  PKI_NAME: string;
  PKI_EMAIL?: string;
}

const LONG_NAMES: Record<string, string> = {
  countryName: "C",
  stateOrProvinceName: "ST",
  localityName: "L",
  organizationName: "O",
  organizationalUnitName: "OU",
  commonName: "CN",
  domainComponent: "DC",
  userId: "UID",
};

const ALLOWED_DIGESTS = new Set(["sha256", "sha384", "sha512"]);

/**
 * Reads an OpenSSL-style profile: the subject from `[req] distinguished_name` (with
 * `prompt = no`) and extensions from the section `[req] x509_extensions` or, failing that,
 * `req_extensions` names. The same file works with `openssl req -config` and
 * `openssl x509 -req -extfile FILE -extensions SECTION`.
 */
export function loadProfile(file: string, vars: ProfileVariables): Profile {
  return profileReader(file)(vars);
}

/** Reads a profile file once, to expand it for many names (bulk issuance). */
export function profileReader(file: string): (vars: ProfileVariables) => Profile {
  let text: string;
  try {
    text = readBounded(file, MAX_SMALL_FILE_BYTES, "the profile").toString("utf8");
  } catch (e) {
    if (e instanceof PkiError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new PkiError(code === "ENOENT" ? "not-found" : "invalid", `cannot read profile ${file}: ${code ?? (e as Error).message}`);
  }
  return (vars) => {
    const env: Record<string, string> = { PKI_NAME: vars.PKI_NAME };
    if (vars.PKI_EMAIL) env.PKI_EMAIL = vars.PKI_EMAIL;
    return profileFromIni(parseIni(text, file, env));
  };
}

export function profileFromIni(ini: IniFile): Profile {
  const req = ini.section("req");
  if (!req) throw new PkiError("invalid", `${ini.file}: no [ req ] section`);
  const at = (key: string) => ini.get("req", key);
  const prompt = at("prompt");
  if (!prompt || prompt.value !== "no") {
    throw ini.error(prompt?.line ?? 1, 'set "prompt = no" in [ req ]: pki fills the subject from the profile, it does not prompt');
  }
  const md = at("default_md");
  if (md && !ALLOWED_DIGESTS.has(md.value.toLowerCase())) {
    throw ini.error(md.line, `default_md = ${md.value} is not allowed; use sha256, sha384 or sha512`);
  }
  const dn = at("distinguished_name");
  if (!dn) throw ini.error(1, "[ req ] has no distinguished_name");
  const extSection = at("x509_extensions") ?? at("req_extensions");
  if (!extSection) throw ini.error(1, "[ req ] names no extensions section (set x509_extensions or req_extensions)");
  const copy = at("copy_extensions");
  if (copy && copy.value !== "copy" && copy.value !== "none") {
    throw ini.error(copy.line, `copy_extensions = ${copy.value} is not supported; use copy (subjectAltNames that pass pki's checks) or none`);
  }
  return {
    file: ini.file,
    subject: readSubject(ini, dn),
    extensions: readExtensionSection(ini, extSection),
    copyExtensions: copy?.value === "none" ? "none" : "copy",
  };
}

function readSubject(ini: IniFile, ref: IniEntry): NameAttribute[] {
  const entries = ini.section(ref.value);
  if (!entries) throw ini.error(ref.line, `section [ ${ref.value} ] does not exist`);
  const subject: NameAttribute[] = [];
  for (const e of entries) {
    // OpenSSL allows "0.OU", "1.OU" to repeat a field.
    const field = e.key.replace(/^\d+\./, "");
    const type = LONG_NAMES[field] ?? field;
    if (!NAME_ATTRIBUTES[type]) throw ini.error(e.line, `unknown subject field "${e.key}"`);
    if (e.value === "") throw ini.error(e.line, `subject field ${e.key} is empty`);
    if (type === "C" && !/^[A-Z]{2}$/.test(e.value)) throw ini.error(e.line, `country "${e.value}" must be a two-letter ISO 3166 code such as NL`);
    if (e.value.length > 64) throw ini.error(e.line, `subject field ${e.key} is longer than 64 characters (RFC 5280 upper bound)`);
    subject.push({ type, value: e.value });
  }
  if (!subject.some((a) => a.type === "CN")) throw ini.error(ref.line, `[ ${ref.value} ] has no CN`);
  return subject;
}

function readExtensionSection(ini: IniFile, ref: IniEntry): ExtensionsSpec {
  const entries = ini.section(ref.value);
  if (!entries) throw ini.error(ref.line, `section [ ${ref.value} ] does not exist`);
  const spec: ExtensionsSpec = {};
  for (const e of entries) {
    if (e.listSeparatorFrom) {
      // "email:$ENV::PKI_EMAIL" must stay one name: a value with "," or ":" would add list items.
      throw ini.error(e.line, `${e.key}: the value of $ENV::${e.listSeparatorFrom} has "," or ":", which would add items to this list`);
    }
    const { critical, items } = splitValue(e.value);
    switch (e.key) {
      case "basicConstraints": {
        let ca: boolean | undefined;
        let pathLength: number | undefined;
        for (const item of items) {
          const [k, v = ""] = item.split(":").map((s) => s.trim());
          if (k === "CA" && /^(true|false)$/i.test(v)) ca = v.toLowerCase() === "true";
          else if (k === "pathlen" && /^\d{1,2}$/.test(v)) pathLength = Number(v);
          else throw ini.error(e.line, `basicConstraints: unexpected "${item}" (use CA:true|false and pathlen:N)`);
        }
        if (ca === undefined) throw ini.error(e.line, "basicConstraints needs CA:true or CA:false");
        spec.basicConstraints = { critical, ca, ...(pathLength !== undefined ? { pathLength } : {}) };
        break;
      }
      case "keyUsage": {
        const usages = items.map((u) => {
          if (!(u in KEY_USAGES)) throw ini.error(e.line, `keyUsage: unknown usage "${u}" (known: ${Object.keys(KEY_USAGES).join(", ")})`);
          return u as KeyUsageName;
        });
        spec.keyUsage = { critical, usages };
        break;
      }
      case "extendedKeyUsage": {
        const purposes = items.map((p) => {
          const oid = EXTENDED_KEY_USAGES[p] ?? (/^\d+(\.\d+)+$/.test(p) ? p : undefined);
          if (!oid) throw ini.error(e.line, `extendedKeyUsage: unknown purpose "${p}" (known: ${Object.keys(EXTENDED_KEY_USAGES).join(", ")}, or a dotted OID)`);
          return oid;
        });
        spec.extendedKeyUsage = { critical, purposes };
        break;
      }
      case "subjectAltName":
        spec.subjectAltName = { critical, names: readAltNames(ini, e, items) };
        break;
      case "subjectKeyIdentifier":
        if (e.value !== "hash") throw ini.error(e.line, 'subjectKeyIdentifier must be "hash" (pki always adds it)');
        break;
      case "authorityKeyIdentifier":
        if (!/^keyid(:always)?(\s*,\s*issuer(:always)?)?$/.test(e.value)) throw ini.error(e.line, 'authorityKeyIdentifier must be "keyid" or "keyid:always" (pki always adds the key id)');
        break;
      default:
        throw ini.error(e.line, `unknown or unsupported extension "${e.key}" (supported: basicConstraints, keyUsage, extendedKeyUsage, subjectAltName, subjectKeyIdentifier, authorityKeyIdentifier)`);
    }
  }
  return spec;
}

const SAN_TYPES: Record<string, GeneralNameSpec["type"]> = { DNS: "dns", IP: "ip", email: "email", URI: "url" };

function readAltNames(ini: IniFile, entry: IniEntry, items: string[]): GeneralNameSpec[] {
  const names: GeneralNameSpec[] = [];
  const add = (type: string, value: string, line: number) => {
    const t = SAN_TYPES[type];
    if (!t) throw ini.error(line, `subjectAltName: unsupported name type "${type}" (use DNS, IP, email or URI)`);
    if (value === "" || value === "copy" || value === "move") throw ini.error(line, `subjectAltName: ${type}:${value} is not supported; give the value itself`);
    if (t === "ip" && !isIP(value)) throw ini.error(line, `subjectAltName: "${value}" is not an IP address`);
    names.push({ type: t, value });
  };
  for (const item of items) {
    if (item.startsWith("@")) {
      const name = item.slice(1);
      const section = ini.section(name);
      if (!section) throw ini.error(entry.line, `subjectAltName: section [ ${name} ] does not exist`);
      for (const e of section) add(e.key.replace(/\.\d+$/, ""), e.value, e.line);
      continue;
    }
    const colon = item.indexOf(":");
    if (colon < 0) throw ini.error(entry.line, `subjectAltName: expected TYPE:value, found "${item}"`);
    add(item.slice(0, colon), item.slice(colon + 1), entry.line);
  }
  return names;
}

function splitValue(value: string): { critical: boolean; items: string[] } {
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const critical = items[0] === "critical";
  return { critical, items: critical ? items.slice(1) : items };
}

/**
 * `--profile smime` (a bare word, no such file here) names a profile shipped in
 * templates/profiles/; anything else is a path.
 */
export function profilePath(templatesDir: string, given: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(given) || existsSync(given)) return given;
  const shipped = join(templatesDir, "profiles", `${given}.ini`);
  return existsSync(shipped) ? shipped : given;
}
