// Client certificates pki would not issue (expired ones) or never recorded, signed by the test
// CA's real key with pki's own crypto layer and the key from the ledger.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLeafCertificate } from "../../src/crypto/certificates.js";
import { decryptPrivateKey, exportPkcs8, generateKeyPair } from "../../src/crypto/keys.js";
import { toPem } from "../../src/crypto/pem.js";
import { x509 } from "../../src/crypto/provider.js";
import { randomSerial } from "../../src/crypto/serial.js";
import { keySigner } from "../../src/crypto/signer.js";
import { openLedger } from "../../src/ledger/open.js";
import { PASSPHRASE } from "../helpers.js";

export async function expiredClient(home: string, dir: string, name: string): Promise<{ cert: string; key: string }> {
  const day = 86_400_000;
  return unrecordedClient(home, dir, name, new Date(Date.now() - 30 * day), new Date(Date.now() - day));
}

/** A client certificate signed by the CA's key with the dates given, that the ledger has no record of. */
export async function unrecordedClient(home: string, dir: string, name: string, notBefore: Date, notAfter: Date): Promise<{ cert: string; key: string }> {
  const ledger = await openLedger(join(home, "ledger.db"));
  const root = (await ledger.read((r) => r.activeRoot()))!;
  await ledger.close();
  const signer = await keySigner(new x509.X509Certificate(root.der), await decryptPrivateKey(root.keyEncrypted!, PASSPHRASE));
  const keys = await generateKeyPair("ec-p256");
  const cert = await createLeafCertificate({
    serial: randomSerial(),
    notBefore,
    notAfter,
    subject: [{ type: "CN", value: name }],
    publicKey: await x509.PublicKey.create(keys.publicKey),
    signer,
    extensions: {
      basicConstraints: { critical: true, ca: false },
      keyUsage: { critical: true, usages: ["digitalSignature"] },
      extendedKeyUsage: { critical: false, purposes: ["1.3.6.1.5.5.7.3.2"] },
    },
  });
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, toPem(new Uint8Array(cert.rawData), "CERTIFICATE"));
  writeFileSync(keyFile, toPem(await exportPkcs8(keys.privateKey), "PRIVATE KEY"), { mode: 0o600 });
  return { cert: certFile, key: keyFile };
}
