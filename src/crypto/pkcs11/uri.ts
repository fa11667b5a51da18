import { TokenError } from "./token-error.js";

/** The parts of an RFC 7512 PKCS#11 URI pki uses to find the root key: which token, which object. */
export interface Pkcs11Uri {
  /** The URI as given, what the ledger stores. */
  text: string;
  token: string;
  /** The key's CKA_LABEL. */
  object: string;
}

/**
 * Parses `pkcs11:token=pki;object=root`. A PIN in the URI (pin-value, pin-source) is refused:
 * the URI is a command-line argument and is stored in the ledger.
 */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (!text.startsWith("pkcs11:")) throw new TokenError("usage", `"${text.slice(0, 100)}" is not a PKCS#11 URI`, "write it as pkcs11:token=LABEL;object=KEY-LABEL (RFC 7512)", "BAD_PKCS11_URI");
  const [path = "", query = ""] = text.slice("pkcs11:".length).split("?", 2);
  const attributes = new Map<string, string>();
  for (const part of [...path.split(";"), ...query.split("&")].filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq < 1) throw new TokenError("usage", `"${part.slice(0, 100)}" in the PKCS#11 URI is not NAME=VALUE`, undefined, "BAD_PKCS11_URI");
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      throw new TokenError("usage", `"${part.slice(0, 100)}" in the PKCS#11 URI has a bad %-escape`, undefined, "BAD_PKCS11_URI");
    }
    attributes.set(part.slice(0, eq), value);
  }
  if (attributes.has("pin-value") || attributes.has("pin-source")) {
    throw new TokenError("usage", "the PKCS#11 URI must not carry the PIN", "give it in PKI_PKCS11_PIN or PKI_PKCS11_PIN_FILE, or type it at the prompt", "BAD_PKCS11_URI");
  }
  const token = attributes.get("token");
  const object = attributes.get("object");
  if (!token || !object) throw new TokenError("usage", "the PKCS#11 URI must name the token and the key object", "for example pkcs11:token=pki;object=root", "BAD_PKCS11_URI");
  return { text, token, object };
}
