import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { KeyType } from "../../src/crypto/algorithms.js";
import { buildName, createLeafCertificate, createRootCertificate, type NameAttribute } from "../../src/crypto/certificates.js";
import type { ExtensionsSpec } from "../../src/crypto/extensions.js";
import { newKeyDer, newSealedKey } from "../../src/crypto/key-batch.js";
import { KeyPool } from "../../src/crypto/key-pool.js";
import { exportPkcs8, generateKeyPair } from "../../src/crypto/keys.js";
import { encodeName, LeafTemplate } from "../../src/crypto/leaf-template.js";
import { pbes2Derive } from "../../src/crypto/pbe.js";
import { toPem } from "../../src/crypto/pem.js";
import { decryptPrivateKey, encryptedKeyPem, encryptPrivateKey, KEY_PBKDF2_ITERATIONS, privateKeyIterations, sealingAlgorithm } from "../../src/crypto/sealing.js";
import { x509 } from "../../src/crypto/provider.js";
import { keySigner, type Signer } from "../../src/crypto/signer.js";
import { openssl, run, tempDir } from "../helpers.js";

const VALUES = [
  "alice", "bulk123", "Bench Root", "a.b-c:d/e=f?g", "o'hara (ops)", "x+y", "a,b", "has;semi", "<angle>", "trailing ", " leading", "#hash", "mid#hash",
  'quo"te', "back\\slash", "user_name", "alice@example.com", "Zoë", "bücher.example", "Łódź", "名前", "😀 emoji", "tab\there", "a\nb",
];

test("encodeName gives the DER and the text buildName and @peculiar/x509 give, for every kind of value", () => {
  const cases: NameAttribute[][] = [
    ...VALUES.map((value) => [{ type: "CN", value }]),
    [{ type: "C", value: "NL" }, { type: "ST", value: "Noord-Holland" }, { type: "L", value: "Amsterdam" }, { type: "O", value: "Example, Inc." }, { type: "OU", value: "Ops+Dev" }, { type: "CN", value: "bob" }],
    [{ type: "CN", value: "carol" }, { type: "emailAddress", value: "carol@example.com" }],
    [{ type: "DC", value: "example" }, { type: "DC", value: "com" }, { type: "UID", value: "u1" }, { type: "serialNumber", value: "42" }, { type: "CN", value: "dave" }],
  ];
  for (const attributes of cases) {
    const label = JSON.stringify(attributes);
    let expected: x509.Name;
    try {
      expected = buildName(attributes);
    } catch (e) {
      // A value starting with "#" is hex to @peculiar/x509: refused the same way.
      assert.throws(() => encodeName(attributes), { message: (e as Error).message }, label);
      continue;
    }
    const got = encodeName(attributes);
    assert.deepEqual(Buffer.from(got.der), Buffer.from(expected.toArrayBuffer()), `${label}: DER`);
    // What recordOf stores: the subject of the certificate parsed back.
    assert.equal(got.text, new x509.Name(new Uint8Array(got.der)).toString(), `${label}: text`);
    assert.equal(got.text, expected.toString(), `${label}: text`);
  }
});

async function root(type: KeyType): Promise<Signer> {
  const keys = await generateKeyPair(type);
  const cert = await createRootCertificate({
    serial: "01", notAfter: new Date(Date.now() + 86_400_000), subject: [{ type: "CN", value: `Template Root ${type}` }, { type: "O", value: "pki tests" }], keys, keyType: type,
    extensions: { basicConstraints: { critical: true, ca: true }, keyUsage: { critical: true, usages: ["keyCertSign", "cRLSign"] } },
  });
  return keySigner(cert, await exportPkcs8(keys.privateKey));
}

/** The first element of a DER SEQUENCE: a certificate's TBSCertificate. */
function tbsOf(der: Uint8Array): Buffer {
  const header = (at: number) => 2 + (der[at + 1]! < 0x80 ? 0 : der[at + 1]! & 0x7f);
  const length = (at: number) => (der[at + 1]! < 0x80 ? der[at + 1]! : [...der.subarray(at + 2, at + header(at))].reduce((n, b) => n * 256 + b, 0));
  const at = header(0);
  return Buffer.from(der.subarray(at, at + header(at) + length(at)));
}

test("a certificate signed from the template has the TBSCertificate createLeafCertificate makes, byte for byte, and openssl verifies it", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const client: ExtensionsSpec = { basicConstraints: { critical: true, ca: false }, keyUsage: { critical: true, usages: ["digitalSignature"] }, extendedKeyUsage: { critical: false, purposes: ["1.3.6.1.5.5.7.3.2"] } };
    const server: ExtensionsSpec = {
      basicConstraints: { critical: true, ca: false }, keyUsage: { critical: true, usages: ["digitalSignature", "keyEncipherment"] }, extendedKeyUsage: { critical: false, purposes: ["1.3.6.1.5.5.7.3.1"] },
      subjectAltName: { critical: false, names: [{ type: "dns", value: "web1.internal" }, { type: "ip", value: "10.0.0.5" }, { type: "ip", value: "2001:db8::5" }, { type: "email", value: "ops@example.com" }] },
      authorityInfoAccess: { ocsp: ["http://ca.internal/ocsp"], caIssuers: ["http://ca.internal/ca.der"] }, crlDistributionPoints: ["http://ca.internal/crl.der"],
    };
    for (const [issuerType, leafType] of [["ec-p256", "ec-p256"], ["ec-p384", "rsa-2048"], ["rsa-2048", "ec-p384"]] as const) {
      const signer = await root(issuerType);
      const template = new LeafTemplate(signer);
      writeFileSync(join(dir, "ca.pem"), toPem(new Uint8Array(signer.certificate.rawData), "CERTIFICATE"));
      for (const [i, extensions] of [client, server].entries()) {
        for (const [serial, notAfter] of [["7f0a", new Date("2049-12-31T23:59:59.999Z")], ["80ff00112233445566778899aabbccdd", new Date("2050-06-01T12:00:00Z")]] as const) {
          const { spki } = newSealedKey(leafType, { key: new Uint8Array(32), algorithm: await sealingAlgorithm({ salt: new Uint8Array(16), iterations: 1000, key: new Uint8Array(32) }) });
          const subject = [{ type: "CN", value: `leaf ${i}` }, { type: "O", value: "Zoë & co" }];
          const notBefore = new Date("2026-03-04T05:06:07.890Z");
          const label = `${issuerType} issuer, ${leafType} leaf, extensions ${i}, serial ${serial}`;
          const single = await createLeafCertificate({ serial, notBefore, notAfter, subject, publicKey: new x509.PublicKey(new Uint8Array(spki)), signer, extensions });
          const bulk = await template.sign({ serial, notBefore, notAfter, subject: encodeName(subject), spki, extensions });
          assert.deepEqual(tbsOf(bulk), tbsOf(new Uint8Array(single.rawData)), label);
          const file = join(dir, "leaf.pem");
          writeFileSync(file, toPem(bulk, "CERTIFICATE"));
          const verified = openssl(["verify", "-CAfile", join(dir, "ca.pem"), file]);
          assert.equal(verified.status, 0, `${label}: ${verified.stdout}${verified.stderr}`);
        }
      }
    }
  } finally {
    cleanup();
  }
});

test("keys sealed in bulk are encrypted PKCS#8 as encryptPrivateKey writes it (same PBES2 parameters, own IV) and open with the passphrase in pki and openssl", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const passphrase = "bulk sealing passphrase";
    const key = await pbes2Derive(passphrase, { iterations: KEY_PBKDF2_ITERATIONS });
    const seal = { key: key.key, algorithm: await sealingAlgorithm(key) };
    const pool = new KeyPool(2);
    let keys;
    try {
      keys = await pool.generate("ec-p256", 5, seal);
    } finally {
      await pool.close();
    }
    assert.equal(keys.length, 5);
    const reference = await encryptPrivateKey(new Uint8Array(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "der" })), key);
    // The same structure, salt and iterations; only the IV (last 16 bytes of the parameters) and the ciphertext differ.
    assert.equal(keys[0]!.sealed.length, reference.length);
    const outerHeader = reference[1]! < 0x80 ? 2 : 2 + (reference[1]! & 0x7f);
    const paramsEnd = outerHeader + seal.algorithm.length;
    assert.deepEqual(Buffer.from(keys[0]!.sealed.subarray(0, paramsEnd - 16)), Buffer.from(reference.subarray(0, paramsEnd - 16)));
    const ivs = new Set(keys.map((k) => Buffer.from(k.sealed.subarray(paramsEnd - 16, paramsEnd)).toString("hex")));
    assert.equal(ivs.size, 5, "every key has its own IV");
    for (const [i, k] of keys.entries()) {
      assert.equal(privateKeyIterations(k.sealed), KEY_PBKDF2_ITERATIONS);
      const pkcs8 = await decryptPrivateKey(k.sealed, passphrase);
      const file = join(dir, `k${i}.key`);
      writeFileSync(file, encryptedKeyPem(k.sealed));
      const opened = run("openssl", ["pkey", "-in", file, "-passin", "env:PASS", "-pubout"], { env: { ...process.env, PASS: passphrase } });
      assert.equal(opened.status, 0, opened.stderr);
      assert.equal(opened.stdout, toPem(k.spki, "PUBLIC KEY"), "the public key given with it is the private key's");
      assert.equal(pkcs8.length, 138);
    }
    await assert.rejects(decryptPrivateKey(keys[0]!.sealed, "wrong"), /decryption failed/);
  } finally {
    cleanup();
  }
});

test("P-256 keys made in bulk are the PKCS#8 and SubjectPublicKeyInfo OpenSSL writes for them, byte for byte, scalars with leading zero bytes included", () => {
  // One scalar in 256 starts with a zero byte: over 4,000 keys, all but certainly (1 - 10⁻⁷) some do.
  let short = 0;
  for (let i = 0; i < 4000; i++) {
    const { publicKey, privateKey } = newKeyDer("ec-p256");
    const opened = createPrivateKey({ key: privateKey, format: "der", type: "pkcs8" });
    assert.equal(opened.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.deepEqual(opened.export({ type: "pkcs8", format: "der" }), privateKey);
    assert.deepEqual(createPublicKey(opened).export({ type: "spki", format: "der" }), publicKey, "the public key is the private key's");
    if (privateKey[36] === 0) short++;
  }
  assert.ok(short > 0, "no scalar with a leading zero byte came up");
});

test("the template refuses an extension it does not know instead of leaving it out of the certificate", async () => {
  const template = new LeafTemplate(await root("ec-p256"));
  const { spki } = newSealedKey("ec-p256", { key: new Uint8Array(32), algorithm: await sealingAlgorithm({ salt: new Uint8Array(16), iterations: 1000, key: new Uint8Array(32) }) });
  const extensions = { basicConstraints: { critical: true, ca: false }, ocspNoCheck: true } as unknown as ExtensionsSpec;
  await assert.rejects(template.sign({ serial: "01", notBefore: new Date(), notAfter: new Date(Date.now() + 86_400_000), subject: encodeName([{ type: "CN", value: "x" }]), spki, extensions }), /cannot write the ocspNoCheck extension/);
});

test("once a key worker dies, the pool fails what waits and every later request instead of waiting forever", async () => {
  const pool = new KeyPool(2);
  const seal = { key: new Uint8Array(32), algorithm: await sealingAlgorithm({ salt: new Uint8Array(16), iterations: 1000, key: new Uint8Array(32) }) };
  try {
    const waiting = pool.generate("rsa-2048", 40, seal);
    await (pool as unknown as { workers: { terminate(): Promise<number> }[] }).workers[0]!.terminate();
    await assert.rejects(waiting, /key worker stopped/);
    await assert.rejects(pool.generate("ec-p256", 2, seal), /key worker stopped/);
  } finally {
    await pool.close();
  }
});
