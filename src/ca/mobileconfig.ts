import { randomUUID } from "node:crypto";
import { createPkcs12 } from "../crypto/pkcs12.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import type { FileAccess } from "./home.js";
import { exportPasswordProblem } from "./secret-strength.js";
import { decryptedKey, exportCandidate, recordThenWrite } from "./export.js";
import { type CertificateView, viewOf } from "./views.js";

export interface MobileconfigParams {
  target: string;
  /** Protects the PKCS#12 inside; the phone asks for it during installation. */
  password: string;
  /** AES-256 PKCS#12 instead of 3DES; only current iOS/macOS read it. Default false. */
  modern?: boolean;
  /** Default: HOME/private/NAME.mobileconfig. */
  out?: string;
  /** Export a revoked or expired certificate too. */
  force?: boolean;
  /** Owner, group and mode of the file (--owner, --group, --mode); an existing file's are kept otherwise. */
  access?: FileAccess;
}

/**
 * An Apple configuration profile with two payloads, so an iPhone or Mac installs the
 * identity and trusts the root in one step (Configuration Profile Reference:
 * com.apple.security.pkcs12 and com.apple.security.root). The .p12 is 3DES by default
 * because iOS and macOS before 2023 reject AES-encrypted PKCS#12.
 */
export async function exportMobileconfig(core: CaCore, ctx: Context, p: MobileconfigParams): Promise<{ view: CertificateView; file: string }> {
  const now = ctx.now;
  const { rec } = await exportCandidate(core, ctx, p.target, "mobileconfig", p.force ?? false);
  if (p.password.length === 0) throw new PkiError("secret", "the password is empty", "iOS cannot import a PKCS#12 with an empty password", "EMPTY_SECRET");
  const weakPassword = exportPasswordProblem(p.password);
  if (weakPassword) throw new PkiError("secret", `the password ${weakPassword}`, undefined, "WEAK_PASSWORD");
  const root = await core.issuerOf(rec);
  const p12 = await createPkcs12({
    privateKey: await decryptedKey(core, rec),
    certificate: rec.der,
    caCertificates: [root.der],
    password: p.password,
    friendlyName: rec.name,
    legacy: !p.modern,
  });
  const base = `pki.${root.serial}.${rec.serial}`;
  const rootName = root.name;
  const plist = renderPlist({
    PayloadContent: [
      {
        PayloadCertificateFileName: `${rec.name}.p12`,
        PayloadContent: { data: p12 },
        PayloadDescription: `Client certificate for ${rec.subject}`,
        PayloadDisplayName: rec.name,
        PayloadIdentifier: `${base}.identity`,
        PayloadType: "com.apple.security.pkcs12",
        PayloadUUID: randomUUID().toUpperCase(),
        PayloadVersion: 1,
      },
      {
        PayloadCertificateFileName: "ca.cer",
        PayloadContent: { data: root.der },
        PayloadDescription: `Root certificate authority ${root.subject}`,
        PayloadDisplayName: rootName,
        PayloadIdentifier: `${base}.root`,
        PayloadType: "com.apple.security.root",
        PayloadUUID: randomUUID().toUpperCase(),
        PayloadVersion: 1,
      },
    ],
    PayloadDescription: `Installs the client certificate "${rec.name}" and trusts ${rootName}, for sites that require it.`,
    PayloadDisplayName: `${rec.name} (${rootName})`,
    PayloadIdentifier: base,
    PayloadOrganization: rootName,
    PayloadRemovalDisallowed: false,
    PayloadType: "Configuration",
    PayloadUUID: randomUUID().toUpperCase(),
    PayloadVersion: 1,
  });
  const file = p.out ?? core.home.mobileconfig(rec.name);
  await recordThenWrite(core, ctx, core.event(ctx, "exported", rec.serial, { name: rec.name, format: p.modern ? "mobileconfig" : "mobileconfig-legacy", file }), file, plist, p.access);
  return { view: viewOf(rec, now), file };
}

type PlistValue = string | number | boolean | { data: Uint8Array } | PlistValue[] | { [key: string]: PlistValue };

/** XML property list (Apple's plist 1.0 DTD) for the few types a profile uses. */
function renderPlist(root: PlistValue): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const render = (v: PlistValue, indent: string): string => {
    if (typeof v === "string") return `${indent}<string>${esc(v)}</string>`;
    if (typeof v === "number") return `${indent}<integer>${v}</integer>`;
    if (typeof v === "boolean") return `${indent}<${v}/>`;
    if (Array.isArray(v)) return `${indent}<array>\n${v.map((x) => render(x, indent + "\t")).join("\n")}\n${indent}</array>`;
    if ("data" in v && v.data instanceof Uint8Array) {
      const b64 = Buffer.from(v.data).toString("base64").match(/.{1,52}/g)!.join(`\n${indent}`);
      return `${indent}<data>\n${indent}${b64}\n${indent}</data>`;
    }
    const entries = Object.entries(v as Record<string, PlistValue>).map(([k, x]) => `${indent}\t<key>${esc(k)}</key>\n${render(x, indent + "\t")}`);
    return `${indent}<dict>\n${entries.join("\n")}\n${indent}</dict>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n${render(root, "")}\n</plist>\n`;
}
