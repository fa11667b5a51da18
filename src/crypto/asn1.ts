// ASN.1 structures that the @peculiar/asn1-* packages do not define: the password-based
// encryption parameters of PKCS#5 v2.1 (RFC 8018) and PKCS#12 (RFC 7292), and CMS EncryptedData.
import { AsnProp, AsnPropTypes } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { EncryptedContentInfo } from "@peculiar/asn1-cms";

export const OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSHA1: "1.2.840.113549.2.7",
  hmacWithSHA256: "1.2.840.113549.2.9",
  hmacWithSHA384: "1.2.840.113549.2.10",
  hmacWithSHA512: "1.2.840.113549.2.11",
  aes128cbc: "2.16.840.1.101.3.4.1.2",
  aes192cbc: "2.16.840.1.101.3.4.1.22",
  aes256cbc: "2.16.840.1.101.3.4.1.42",
  pbeWithSHAAnd3KeyTripleDESCBC: "1.2.840.113549.1.12.1.3",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecPublicKey: "1.2.840.10045.2.1",
  secp256r1: "1.2.840.10045.3.1.7",
  secp384r1: "1.3.132.0.34",
} as const;

/** DER of ASN.1 NULL, the parameters OpenSSL writes for HMAC and digest algorithms. */
export const DER_NULL = new Uint8Array([0x05, 0x00]).buffer;

/** RFC 8018 A.2: PBKDF2-params (salt is the `specified` OCTET STRING choice). */
export class Pbkdf2Params {
  @AsnProp({ type: AsnPropTypes.OctetString }) salt: ArrayBuffer = new ArrayBuffer(0);
  @AsnProp({ type: AsnPropTypes.Integer }) iterationCount = 0;
  @AsnProp({ type: AsnPropTypes.Integer, optional: true }) keyLength?: number;
  @AsnProp({ type: AlgorithmIdentifier, optional: true }) prf?: AlgorithmIdentifier;
  constructor(params: Partial<Pbkdf2Params> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 8018 A.4: PBES2-params. */
export class Pbes2Params {
  @AsnProp({ type: AlgorithmIdentifier }) keyDerivationFunc = new AlgorithmIdentifier();
  @AsnProp({ type: AlgorithmIdentifier }) encryptionScheme = new AlgorithmIdentifier();
  constructor(params: Partial<Pbes2Params> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 7292 appendix C: pkcs-12PbeParams. */
export class Pkcs12PbeParams {
  @AsnProp({ type: AsnPropTypes.OctetString }) salt: ArrayBuffer = new ArrayBuffer(0);
  @AsnProp({ type: AsnPropTypes.Integer }) iterations = 0;
  constructor(params: Partial<Pkcs12PbeParams> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 5652 section 8: EncryptedData (without unprotectedAttrs, which PKCS#12 never uses). */
export class EncryptedData {
  @AsnProp({ type: AsnPropTypes.Integer }) version = 0;
  @AsnProp({ type: EncryptedContentInfo }) encryptedContentInfo = new EncryptedContentInfo();
  constructor(params: Partial<EncryptedData> = {}) {
    Object.assign(this, params);
  }
}
