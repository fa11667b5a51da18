import type { ExtensionsSpec, KeyUsageName } from "../crypto/extensions.js";
import type { KeyType } from "../crypto/keys.js";

/** RFC 5480 section 3: an EC key signs and may agree keys; it never enciphers. */
const NOT_FOR_EC: readonly KeyUsageName[] = ["keyEncipherment", "dataEncipherment"];
/** RFC 3279 section 2.3.1: an RSA key signs and enciphers; key agreement is not among its usages. */
const NOT_FOR_RSA: readonly KeyUsageName[] = ["keyAgreement", "encipherOnly", "decipherOnly"];

/**
 * The profile's keyUsage, fitted to the key that will be certified. One profile serves both
 * key types: RSA keeps keyEncipherment (TLS 1.2 RSA key exchange, S/MIME key transport needs
 * it), an EC key must not assert it, and keyAgreement (S/MIME's ECDH) is for EC keys only, so
 * pki drops what the key cannot do rather than asking for two profiles.
 */
export function usagesForKey(ext: ExtensionsSpec, keyType: KeyType): ExtensionsSpec {
  const refused = keyType.startsWith("ec-") ? NOT_FOR_EC : NOT_FOR_RSA;
  if (!ext.keyUsage?.usages.some((u) => refused.includes(u))) return ext;
  return { ...ext, keyUsage: { ...ext.keyUsage, usages: ext.keyUsage.usages.filter((u) => !refused.includes(u)) } };
}
