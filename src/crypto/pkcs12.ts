import { createHash, createHmac, randomBytes } from "node:crypto";
import { ContentInfo, EncryptedContent, EncryptedContentInfo } from "@peculiar/asn1-cms";
import {
  AuthenticatedSafe,
  CertBag,
  id_certBag,
  id_pkcs8ShroudedKeyBag,
  id_x509Certificate,
  MacData,
  PFX,
  PKCS12Attribute,
  PKCS8ShroudedKeyBag,
  SafeBag,
  SafeContents,
} from "@peculiar/asn1-pfx";
import { DigestInfo } from "@peculiar/asn1-rsa";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { DER_NULL, EncryptedData, OID } from "./asn1.js";
import { bmpPassword, type Encrypted, pbes2Encrypt, pkcs12Kdf, pkcs12TripleDesEncrypt } from "./pbe.js";

/**
 * OpenSSL 3's PKCS#12 defaults (PKCS12_DEFAULT_ITER and PKCS5_SALT_LEN): 2048 iterations
 * and 8-byte salts. Apple's parser has rejected files that stray from what OpenSSL writes,
 * so both the modern and the legacy format copy these numbers.
 */
const ITERATIONS = 2048;
const SALT_LENGTH = 8;

export interface Pkcs12Params {
  /** Unencrypted PKCS#8 DER of the private key. */
  privateKey: Uint8Array;
  /** DER of the certificate that belongs to the key. */
  certificate: Uint8Array;
  /** DER of CA certificates to include (like `openssl pkcs12 -certfile`). Default: none. */
  caCertificates?: readonly Uint8Array[];
  /** Must not be empty: macOS and Firefox fail on empty PKCS#12 passwords. */
  password: string;
  /** Shown by key stores as the identity's label. Default: none. */
  friendlyName?: string;
  /**
   * false (default): PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC bags and an HMAC-SHA256 MAC, as OpenSSL 3 writes.
   * true: pbeWithSHAAnd3-KeyTripleDES-CBC for both bags and an HMAC-SHA1 MAC, for macOS/iOS
   * before 14/17-era, Android 12-13 and Windows Server 2016, which cannot read the modern format.
   */
  legacy?: boolean;
}

/** A PKCS#12 (PFX) file holding one identity (key + certificate) and its CA chain. */
export async function createPkcs12(params: Pkcs12Params): Promise<Uint8Array> {
  const { password } = params;
  const legacy = params.legacy ?? false;
  const encrypt = async (plain: Uint8Array): Promise<Encrypted> =>
    legacy
      ? pkcs12TripleDesEncrypt(plain, password, ITERATIONS, SALT_LENGTH)
      : pbes2Encrypt(plain, password, { iterations: ITERATIONS, saltLength: SALT_LENGTH });

  // localKeyId ties the key bag to its certificate bag; OpenSSL uses the certificate's SHA-1.
  const localKeyId = createHash("sha1").update(params.certificate).digest();
  const identityAttributes = [
    ...(params.friendlyName
      ? [attribute(OID.friendlyName, bmpString(params.friendlyName))]
      : []),
    attribute(OID.localKeyId, AsnConvert.serialize(new OctetString(localKeyId))),
  ];

  const certBags = [params.certificate, ...(params.caCertificates ?? [])].map(
    (der, i) =>
      new SafeBag({
        bagId: id_certBag,
        bagValue: AsnConvert.serialize(new CertBag({ certId: id_x509Certificate, certValue: AsnConvert.serialize(new OctetString(der)) })),
        ...(i === 0 ? { bagAttributes: identityAttributes } : {}),
      }),
  );
  const certContents = new Uint8Array(AsnConvert.serialize(new SafeContents(certBags)));
  const certEncrypted = await encrypt(certContents);
  const certInfo = new ContentInfo({
    contentType: OID.encryptedData,
    content: AsnConvert.serialize(
      new EncryptedData({
        version: 0,
        encryptedContentInfo: new EncryptedContentInfo({
          contentType: OID.data,
          contentEncryptionAlgorithm: certEncrypted.algorithm,
          encryptedContent: new EncryptedContent({ value: new OctetString(certEncrypted.ciphertext) }),
        }),
      }),
    ),
  });

  const keyEncrypted = await encrypt(params.privateKey);
  const keyBag = new SafeBag({
    bagId: id_pkcs8ShroudedKeyBag,
    bagValue: AsnConvert.serialize(
      new PKCS8ShroudedKeyBag({ encryptionAlgorithm: keyEncrypted.algorithm, encryptedData: new OctetString(keyEncrypted.ciphertext) }),
    ),
    bagAttributes: identityAttributes,
  });
  const keyInfo = new ContentInfo({
    contentType: OID.data,
    content: AsnConvert.serialize(new OctetString(AsnConvert.serialize(new SafeContents([keyBag])))),
  });

  // Certificates first, then the key: the order `openssl pkcs12 -export` writes.
  const authSafe = new Uint8Array(AsnConvert.serialize(new AuthenticatedSafe([certInfo, keyInfo])));
  const macDigest = legacy ? "sha1" : "sha256";
  const macSalt = randomBytes(SALT_LENGTH);
  const macKey = pkcs12Kdf(macDigest, bmpPassword(password), macSalt, 3, ITERATIONS, macDigest === "sha1" ? 20 : 32);
  const mac = createHmac(macDigest, macKey).update(authSafe).digest();
  const pfx = new PFX({
    version: 3,
    authSafe: new ContentInfo({ contentType: OID.data, content: AsnConvert.serialize(new OctetString(authSafe)) }),
    macData: new MacData({
      mac: new DigestInfo({
        digestAlgorithm: new AlgorithmIdentifier({ algorithm: legacy ? OID.sha1 : OID.sha256, parameters: DER_NULL }),
        digest: new OctetString(mac),
      }),
      macSalt: new OctetString(macSalt),
      iterations: ITERATIONS,
    }),
  });
  return new Uint8Array(AsnConvert.serialize(pfx));
}

/** PKCS12Attribute's constructor drops its argument (asn1-pfx 2.x calls `Object.assign(params)`), so set fields directly. */
function attribute(attrId: string, value: ArrayBuffer): PKCS12Attribute {
  const attr = new PKCS12Attribute();
  attr.attrId = attrId;
  attr.attrValues = [value];
  return attr;
}

/** DER BMPString (tag 0x1e), the type PKCS#9 friendlyName requires. */
function bmpString(text: string): ArrayBuffer {
  const body = bmpPassword(text).subarray(0, text.length * 2);
  const len = body.length;
  const header = len < 128 ? [0x1e, len] : len < 256 ? [0x1e, 0x81, len] : [0x1e, 0x82, len >> 8, len & 0xff];
  const out = new Uint8Array(header.length + len);
  out.set(header);
  out.set(body, header.length);
  return out.buffer;
}

/**
 * The localKeyIds a PKCS#12 shows without its password: the attributes of bags in its
 * unencrypted `data` parts (where pki and OpenSSL put the shrouded key bag). pki and OpenSSL
 * set the id to the SHA-1 of the certificate, so it tells which certificate the file holds.
 * null when the file is not a PKCS#12 at all.
 */
export function pkcs12LocalKeyIds(der: Uint8Array): Uint8Array[] | null {
  try {
    const pfx = AsnConvert.parse(der, PFX);
    const authSafe = AsnConvert.parse(AsnConvert.parse(pfx.authSafe.content, OctetString), AuthenticatedSafe);
    const ids: Uint8Array[] = [];
    for (const info of authSafe) {
      if (info.contentType !== OID.data) continue;
      for (const bag of AsnConvert.parse(AsnConvert.parse(info.content, OctetString), SafeContents)) {
        for (const attr of bag.bagAttributes ?? []) {
          if (attr.attrId !== OID.localKeyId) continue;
          for (const value of attr.attrValues) ids.push(new Uint8Array(AsnConvert.parse(value, OctetString).buffer));
        }
      }
    }
    return ids;
  } catch {
    return null;
  }
}
