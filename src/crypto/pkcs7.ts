import { CertificateChoices, CertificateSet, ContentInfo, id_data, id_signedData, SignedData } from "@peculiar/asn1-cms";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";

/**
 * A "certs-only" PKCS#7 (RFC 2315 / RFC 5652 degenerate SignedData): certificates and no
 * signers, what `openssl crl2pkcs7 -nocrl` writes and Windows and Java import as a .p7b.
 * The encapsulated content has no eContent at all (not an empty one), as that form requires.
 */
export function certsOnlyPkcs7(certificates: readonly Uint8Array[]): Uint8Array {
  const signedData = new SignedData({
    version: 1,
    certificates: new CertificateSet(certificates.map((der) => new CertificateChoices({ certificate: AsnConvert.parse(der, Certificate) }))),
  });
  signedData.encapContentInfo.eContentType = id_data;
  const info = new ContentInfo({ contentType: id_signedData, content: AsnConvert.serialize(signedData) });
  return new Uint8Array(AsnConvert.serialize(info));
}
