import type { ExtensionsSpec, KeyUsageName } from "../crypto/extensions.js";
import type { KeyType } from "../crypto/keys.js";

/** RFC 5480 section 3: an EC key signs and may agree keys; it never enciphers. */
const NOT_FOR_EC: readonly KeyUsageName[] = ["keyEncipherment", "dataEncipherment"];

/**
 * The profile's keyUsage, fitted to the key that will be certified. One server profile
 * serves both key types: RSA keeps keyEncipherment (TLS 1.2 RSA key exchange needs it),
 * an EC key must not assert it, so pki drops it there rather than asking for two profiles.
 */
export function usagesForKey(ext: ExtensionsSpec, keyType: KeyType): ExtensionsSpec {
  if (!keyType.startsWith("ec-") || !ext.keyUsage?.usages.some((u) => NOT_FOR_EC.includes(u))) return ext;
  return { ...ext, keyUsage: { ...ext.keyUsage, usages: ext.keyUsage.usages.filter((u) => !NOT_FOR_EC.includes(u)) } };
}
