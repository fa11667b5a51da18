// A root whose key lives in a PKCS#11 token (init-root --pkcs11): the ledger keeps the key's
// RFC 7512 URI in a setting, never the key. Leaf keys are still sealed under the CA
// passphrase; with no root key to open, a sealed throwaway key proves the passphrase instead.
import { createPublicKey, randomBytes, verify } from "node:crypto";
import type { KeyType } from "../crypto/algorithms.js";
import type { HistoryKey } from "../crypto/history-key.js";
import type { Signer } from "../crypto/signer.js";
import type { TokenKey } from "../crypto/pkcs11/token.js";
import type { Pkcs11Uri } from "../crypto/pkcs11/uri.js";
import type { x509 } from "../crypto/provider.js";
import type { CertificateRecord, LedgerReader } from "../ledger/ledger.js";
import type { AuthorityOptions, CaCore } from "./core.js";
import { PkiError } from "./errors.js";

/** Setting holding the token URI of the root key (absent: the key is in the ledger, sealed). */
export const ROOT_KEY_URI = "root.pkcs11-uri";
/** Setting holding, base64, an encrypted PKCS#8 of a key that signs nothing: opening it proves the CA passphrase. */
export const PASSPHRASE_CHECK = "root.passphrase-check";

export function rootKeyUri(r: LedgerReader): Promise<string | undefined> {
  return r.setting(ROOT_KEY_URI);
}

/** What the CA passphrase is checked against: the sealed root key, or for a token root the sealed check key. */
export async function passphraseWitness(r: LedgerReader, root: CertificateRecord): Promise<Uint8Array> {
  if (root.keyEncrypted) return root.keyEncrypted;
  const check = await r.setting(PASSPHRASE_CHECK);
  if (!check) throw new PkiError("storage", "the ledger has neither the CA key nor its passphrase check", "restore the home from a backup", "STORAGE");
  return new Uint8Array(Buffer.from(check, "base64"));
}

/** The token's library, from PKI_PKCS11_MODULE. */
export function tokenModule(): string {
  const path = process.env.PKI_PKCS11_MODULE;
  if (!path) throw new PkiError("usage", "the root key is in a PKCS#11 token, and PKI_PKCS11_MODULE does not name its library", "e.g. export PKI_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so", "PKCS11_MODULE_UNSET");
  return path;
}

async function tokenPin(options: AuthorityOptions): Promise<string> {
  if (!options.tokenPin) throw new PkiError("secret", "the root key is in a PKCS#11 token and no PIN source was given", "set PKI_PKCS11_PIN or PKI_PKCS11_PIN_FILE", "NO_SECRET");
  return options.tokenPin();
}

export async function parseUri(text: string): Promise<Pkcs11Uri> {
  const { parsePkcs11Uri } = await import("../crypto/pkcs11/uri.js");
  return fromToken(() => parsePkcs11Uri(text));
}

/** What a root in a token gives the authority: its signer and its history key, from one logged-in session. */
export interface TokenRoot {
  signer: Signer;
  history: HistoryKey;
}

/** The root's signer and history key, logged in to the token once for the life of the process. */
export async function openTokenRoot(options: AuthorityOptions, uriText: string, certificate: x509.X509Certificate): Promise<TokenRoot> {
  const uri = await parseUri(uriText);
  const module = tokenModule();
  const pin = await tokenPin(options);
  const [{ TokenKey }, { tokenSigner }] = await Promise.all([import("../crypto/pkcs11/token.js"), import("../crypto/pkcs11/signer.js")]);
  const ec = (certificate.publicKey.algorithm as Algorithm).name === "ECDSA";
  return fromToken(() => {
    const key = TokenKey.open(module, uri, pin, ec);
    return { signer: tokenSigner(certificate, key), history: tokenHistoryKey(key) };
  });
}

/**
 * The HMAC-SHA256 secret key init-root --pkcs11 made beside the root key, as the CA's history key:
 * the MACs are computed in the token (the key cannot be derived from a private key that never
 * leaves it), and the token's failures are reported as PkiErrors.
 */
export function tokenHistoryKey(key: TokenKey): HistoryKey {
  const hmac = fromToken(() => key.history());
  return {
    mac: (data) => fromToken(() => hmac.mac(data)),
    macAll: (parts) => fromToken(() => hmac.macAll(parts)),
    verify: (data, tag) => fromToken(() => hmac.verify(data, tag)),
  };
}

/** A new key pair in the token, for init-root --pkcs11. */
export async function generateTokenKey(options: AuthorityOptions, uri: Pkcs11Uri, keyType: KeyType): Promise<{ key: TokenKey; spki: Uint8Array; signing: Omit<Signer, "certificate"> }> {
  const module = tokenModule();
  const pin = await tokenPin(options);
  const [{ TokenKey }, { tokenSigning }] = await Promise.all([import("../crypto/pkcs11/token.js"), import("../crypto/pkcs11/signer.js")]);
  return fromToken(() => {
    const { key, spki } = TokenKey.generate(module, uri, pin, keyType);
    return { key, spki, signing: tokenSigning(key, keyType) };
  });
}

export interface TokenKeyStatus {
  uri: string;
  usable: boolean;
  message: string;
  fix?: string;
}

/** Whether the token answers, the PIN opens it, and a signature made there verifies with the root certificate. */
export async function tokenKeyStatus(core: CaCore, uri: string): Promise<TokenKeyStatus> {
  try {
    const signer = await core.rootSigner();
    const challenge = randomBytes(32);
    const signature = await signer.sign(challenge);
    const publicKey = createPublicKey({ key: Buffer.from(signer.certificate.publicKey.rawData), format: "der", type: "spki" });
    if (!verify(signer.keyType === "ec-p384" ? "sha384" : "sha256", challenge, publicKey, signature)) {
      return { uri, usable: false, message: `the key in the PKCS#11 token ${uri} is not the root's: its signature does not verify with ca.pem`, fix: "point the ledger's URI at the right key, or restore the token" };
    }
    return { uri, usable: true, message: `the CA key is in the PKCS#11 token ${uri}: reachable, and a test signature verifies with the root certificate` };
  } catch (e) {
    if (!(e instanceof PkiError)) throw e;
    return { uri, usable: false, message: `the CA key in the PKCS#11 token ${uri} is not usable: ${e.message}`, fix: e.hint ?? "check PKI_PKCS11_MODULE, PKI_PKCS11_PIN or PKI_PKCS11_PIN_FILE, and that the token is present" };
  }
}

/** Runs a token operation, turning its TokenError (and the Cryptoki errors pkcs11js throws) into a PkiError. */
export function fromToken<T>(work: () => T): T {
  try {
    return work();
  } catch (e) {
    const err = e as { name?: string; kind?: PkiError["kind"]; hint?: string; code?: string; message?: string };
    if (err.name === "TokenError") throw new PkiError(err.kind!, err.message ?? "", err.hint, err.code);
    if (err.name === "Pkcs11Error" || err.name === "NativeError") throw new PkiError("storage", `the PKCS#11 token failed: ${err.message}`, undefined, "PKCS11_FAILED");
    throw e;
  }
}
