// OCSP messages proven with the reference client: `openssl ocsp` makes the requests, reads our
// responses, checks their signatures, statuses, times and nonces.
import assert from "node:assert/strict";
import { createPrivateKey, sign as nodeSign, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { join } from "node:path";
import { CrlReason } from "../../src/crypto/crl-reason.js";
import { CryptoError } from "../../src/crypto/errors.js";
import {
  createOcspResponse,
  ocspErrorResponse,
  OcspIssuer,
  OcspResponseStatus,
  type OcspCertStatus,
  type OcspSigner,
  readOcspRequest,
  readOcspRequestWithSchema,
  signatureAlgorithmIdentifier,
} from "../../src/crypto/ocsp.js";
import { readLeanOcspRequest } from "../../src/crypto/ocsp-request.js";
import { openssl, tempDir } from "../helpers.js";

const tmp = tempDir("pki-ocsp-");
const f = (name: string) => join(tmp.dir, name);

function ok(args: string[]): string {
  const r = openssl(args);
  assert.equal(r.status, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout + r.stderr;
}

/** A CA (EC or RSA) with a client leaf and a delegated OCSP responder, made by openssl itself. */
function makeCa(prefix: string, keyAlg: string[]): void {
  writeFileSync(f(`${prefix}-ext.ini`), [
    "[ca]", "basicConstraints = critical, CA:true, pathlen:0", "keyUsage = critical, keyCertSign, cRLSign", "subjectKeyIdentifier = hash",
    "[leaf]", "basicConstraints = critical, CA:false", "keyUsage = critical, digitalSignature", "extendedKeyUsage = clientAuth",
    "[responder]", "basicConstraints = critical, CA:false", "keyUsage = critical, digitalSignature", "extendedKeyUsage = OCSPSigning", "noCheck = ignored",
  ].join("\n"));
  ok(["req", "-x509", "-new", "-nodes", ...keyAlg, "-keyout", f(`${prefix}-ca.key`), "-out", f(`${prefix}-ca.pem`), "-subj", `/CN=${prefix} Root`, "-days", "30",
    "-config", f(`${prefix}-ext.ini`), "-extensions", "ca"]);
  for (const [name, ext] of [["leaf", "leaf"], ["other", "leaf"], ["responder", "responder"]] as const) {
    ok(["req", "-new", "-nodes", ...keyAlg, "-keyout", f(`${prefix}-${name}.key`), "-out", f(`${prefix}-${name}.csr`), "-subj", `/CN=${prefix} ${name}`]);
    ok(["x509", "-req", "-in", f(`${prefix}-${name}.csr`), "-CA", f(`${prefix}-ca.pem`), "-CAkey", f(`${prefix}-ca.key`), "-out", f(`${prefix}-${name}.pem`),
      "-days", "10", "-set_serial", `0x${name === "leaf" ? "00f1e2d3c4b5a69788796a5b4c3d2e1f" : name === "other" ? "7a" : "0b0c"}`,
      "-extfile", f(`${prefix}-ext.ini`), "-extensions", ext]);
  }
}

/** A signer over a PEM key file, through node:crypto (the production Signer is the Keyring's). */
function signerFor(keyFile: string): OcspSigner {
  const key = createPrivateKey(readFileSync(keyFile));
  const ec = key.asymmetricKeyType === "ec";
  return {
    algorithm: signatureAlgorithmIdentifier(ec ? "1.2.840.10045.4.3.2" : "1.2.840.113549.1.1.11"),
    sign: async (data) => new Uint8Array(nodeSign("sha256", data, key)),
  };
}

function issuerOf(pemFile: string): OcspIssuer {
  return OcspIssuer.fromCertificate(new Uint8Array(new X509Certificate(readFileSync(pemFile)).raw));
}

interface Answered {
  status: OcspCertStatus;
  delegated?: boolean;
  nonce?: boolean;
}

/** Asks openssl for a request about `cert`, answers it with our code, and returns openssl's verdict on the answer. */
async function roundTrip(prefix: string, cert: string, a: Answered): Promise<string> {
  const req = f(`${prefix}-req.der`);
  const resp = f(`${prefix}-resp.der`);
  ok(["ocsp", "-issuer", f(`${prefix}-ca.pem`), "-cert", f(`${prefix}-${cert}.pem`), a.nonce ? "-nonce" : "-no_nonce", "-reqout", req]);
  const parsed = readOcspRequest(new Uint8Array(readFileSync(req)));
  assert.equal(parsed.certIds.length, 1);
  assert.ok(issuerOf(f(`${prefix}-ca.pem`)).issued(parsed.certIds[0]!), "the CertID names our CA");
  assert.equal(parsed.nonce !== null, a.nonce ?? false);
  const signerKey = a.delegated ? f(`${prefix}-responder.key`) : f(`${prefix}-ca.key`);
  const signerCert = a.delegated ? f(`${prefix}-responder.pem`) : f(`${prefix}-ca.pem`);
  const now = new Date();
  const der = await createOcspResponse({
    answers: [{ certId: parsed.certIds[0]!, status: a.status, thisUpdate: new Date(now.getTime() - 60_000), nextUpdate: new Date(now.getTime() + 3_600_000) }],
    signer: signerFor(signerKey),
    responderKeyHash: issuerOf(signerCert).keyHash(),
    ...(a.delegated ? { responderCertificate: new Uint8Array(new X509Certificate(readFileSync(signerCert)).raw) } : {}),
    nonce: parsed.nonce,
  });
  writeFileSync(resp, der);
  // With -reqin (and no -cert, which would make a new request) openssl checks the nonce against the request it sent.
  return ok(["ocsp", "-reqin", req, "-respin", resp, "-issuer", f(`${prefix}-ca.pem`), "-CAfile", f(`${prefix}-ca.pem`), "-resp_text"]);
}

before(() => {
  makeCa("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
  makeCa("rsa", ["-newkey", "rsa:2048"]);
});
after(() => tmp.cleanup());

for (const prefix of ["ec", "rsa"]) {
  test(`${prefix}: a good answer signed by the CA verifies in openssl ocsp`, async () => {
    const out = await roundTrip(prefix, "leaf", { status: { status: "good" } });
    assert.match(out, /Response verify OK/);
    assert.match(out, /Cert Status: good/);
    assert.match(out, /Next Update:/);
  });

  test(`${prefix}: a revoked answer carries the time and reason`, async () => {
    const out = await roundTrip(prefix, "leaf", { status: { status: "revoked", revokedAt: new Date("2026-11-30T10:00:00.250Z"), reason: CrlReason.keyCompromise } });
    assert.match(out, /Response verify OK/);
    assert.match(out, /Cert Status: revoked/);
    assert.match(out, /Reason: keyCompromise/);
    assert.match(out, /Revocation Time: Nov 30 10:00:00 2026 GMT/);
  });
}

test("unknown, and the serial as the ledger writes it (a leading-zero octet dropped)", async () => {
  const out = await roundTrip("ec", "other", { status: { status: "unknown" } });
  assert.match(out, /Cert Status: unknown/);
  const parsed = readOcspRequest(new Uint8Array(readFileSync(f("ec-req.der"))));
  assert.equal(parsed.certIds[0]!.serial, "7a");
  ok(["ocsp", "-issuer", f("ec-ca.pem"), "-cert", f("ec-leaf.pem"), "-no_nonce", "-reqout", f("lz.der")]);
  assert.equal(readOcspRequest(new Uint8Array(readFileSync(f("lz.der")))).certIds[0]!.serial, "f1e2d3c4b5a69788796a5b4c3d2e1f");
});

test("a nonce is echoed, and openssl checks it against its request", async () => {
  const out = await roundTrip("ec", "leaf", { status: { status: "good" }, nonce: true });
  assert.match(out, /Response verify OK/);
  assert.doesNotMatch(out, /WARNING: no nonce|Nonce Verify error/);
  // And a response that drops the nonce is caught by the same check: the test can tell.
  const r = openssl(["ocsp", "-reqin", f("ec-req.der"), "-respin", f("rsa-resp.der"), "-CAfile", f("rsa-ca.pem"), "-issuer", f("rsa-ca.pem")]);
  assert.match(r.stdout + r.stderr, /no nonce in response|Nonce Verify error/);
  assert.match(out, /OCSP Nonce:/);
});

test("a delegated responder (id-kp-OCSPSigning, issued by the CA) signs in the CA's name", async () => {
  for (const prefix of ["ec", "rsa"]) {
    const out = await roundTrip(prefix, "leaf", { status: { status: "good" }, delegated: true });
    assert.match(out, /Response verify OK/);
    assert.match(out, new RegExp(`Subject: CN\\s?=\\s?${prefix} responder`), "the responder certificate travels with the response");
  }
});

test("a CertID of another issuer is not ours", () => {
  ok(["ocsp", "-issuer", f("rsa-ca.pem"), "-cert", f("rsa-leaf.pem"), "-no_nonce", "-reqout", f("foreign.der")]);
  const id = readOcspRequest(new Uint8Array(readFileSync(f("foreign.der")))).certIds[0]!;
  assert.equal(issuerOf(f("ec-ca.pem")).issued(id), false);
  assert.equal(issuerOf(f("rsa-ca.pem")).issued(id), true);
});

test("SHA-256 CertIDs are understood too", () => {
  ok(["ocsp", "-sha256", "-issuer", f("ec-ca.pem"), "-cert", f("ec-leaf.pem"), "-no_nonce", "-reqout", f("sha256.der")]);
  const id = readOcspRequest(new Uint8Array(readFileSync(f("sha256.der")))).certIds[0]!;
  assert.equal(id.hash, "sha256");
  assert.ok(issuerOf(f("ec-ca.pem")).issued(id));
});

test("garbage, truncated, empty and oversized requests are malformed, never a crash", () => {
  const good = new Uint8Array(readFileSync(f("sha256.der")));
  const bad: Uint8Array[] = [
    new Uint8Array(0),
    new Uint8Array([0x30]),
    good.subarray(0, good.length - 3),
    new Uint8Array(Buffer.from("GET / HTTP/1.1\r\n\r\n")),
    new Uint8Array(20_000).fill(0x30),
    new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
  ];
  for (let i = 0; i < 200; i++) bad.push(new Uint8Array(Array.from({ length: 1 + (i % 90) }, (_, j) => (i * 31 + j * 17) & 0xff)));
  for (const b of bad) {
    assert.throws(() => readOcspRequest(b), (e: unknown) => e instanceof CryptoError && (e.code === "malformed" || e.code === "unsupported"));
  }
});

/** What a reader made of `der`: its result, or the error code it threw. */
function verdict(read: (der: Uint8Array) => unknown, der: Uint8Array): unknown {
  try {
    return read(der);
  } catch (e) {
    if (e instanceof CryptoError) return { error: e.code };
    throw e;
  }
}

test("the lean request reader and the schema library agree on openssl's requests and on every truncation and byte flip of them", () => {
  const requests: [string, string[]][] = [
    ["plain", ["-issuer", f("ec-ca.pem"), "-cert", f("ec-leaf.pem"), "-no_nonce"]],
    ["nonce", ["-issuer", f("ec-ca.pem"), "-cert", f("ec-leaf.pem"), "-nonce"]],
    ["sha256", ["-sha256", "-issuer", f("rsa-ca.pem"), "-cert", f("rsa-leaf.pem"), "-nonce"]],
    ["two", ["-issuer", f("ec-ca.pem"), "-cert", f("ec-leaf.pem"), "-cert", f("ec-other.pem"), "-nonce"]],
    ["serial", ["-issuer", f("ec-ca.pem"), "-serial", "0x00ff", "-no_nonce"]],
    // Signed requests are the library's alone.
    ["signed", ["-issuer", f("ec-ca.pem"), "-cert", f("ec-leaf.pem"), "-signer", f("ec-other.pem"), "-signkey", f("ec-other.key"), "-nonce"]],
  ];
  for (const [name, args] of requests) {
    ok(["ocsp", ...args, "-reqout", f(`lean-${name}.der`)]);
    const der = new Uint8Array(readFileSync(f(`lean-${name}.der`)));
    assert.equal(readLeanOcspRequest(der) === null, name === "signed", `${name}: read by the lean reader`);
    assert.deepEqual(readOcspRequest(der), readOcspRequestWithSchema(der), name);
    for (let cut = 0; cut < der.length; cut++) assert.deepEqual(verdict(readOcspRequest, der.subarray(0, cut)), verdict(readOcspRequestWithSchema, der.subarray(0, cut)), `${name} cut at ${cut}`);
    for (let i = 0; i < der.length; i++) {
      for (const x of [0x01, 0x80, 0xff]) {
        const flipped = new Uint8Array(der);
        flipped[i] ^= x;
        assert.deepEqual(verdict(readOcspRequest, flipped), verdict(readOcspRequestWithSchema, flipped), `${name} byte ${i} ^ ${x}`);
      }
    }
  }
});

test("error responses are the bare status openssl reports", () => {
  writeFileSync(f("err.der"), ocspErrorResponse(OcspResponseStatus.malformedRequest));
  const r = openssl(["ocsp", "-respin", f("err.der"), "-resp_text", "-noverify"]);
  assert.match(r.stdout + r.stderr, /malformedrequest \(1\)/i);
});
