// The root key in a PKCS#11 token: a fresh SoftHSM2 token per run (its own SOFTHSM2_CONF in a
// temporary folder), every artifact signed there checked by openssl, and no root key on disk.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { openssl, pki, pkiJson, run, snapshot, tempDir } from "../helpers.js";
import { startServe } from "../server/helpers.js";

const MODULE = "/usr/lib/softhsm/libsofthsm2.so";
// CI installs softhsm2 (.ci/run): there a missing module fails the test instead of skipping it.
const skip = !existsSync(MODULE) && !process.env.CI && "SoftHSM2 is not installed (apt-get install softhsm2)";
const PIN = "4711-pki";

const work = tempDir("pki-pkcs11-");
after(work.cleanup);
const home = join(work.dir, "home");
const conf = join(work.dir, "softhsm2.conf");
const token = { SOFTHSM2_CONF: conf, PKI_PKCS11_MODULE: MODULE, PKI_PKCS11_PIN: PIN };
const URI = "pkcs11:token=pki-test;object=root";

before(() => {
  if (skip) return;
  mkdirSync(join(work.dir, "tokens"));
  writeFileSync(conf, `directories.tokendir = ${join(work.dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const init = run("softhsm2-util", ["--init-token", "--free", "--label", "pki-test", "--so-pin", "so-secret-1", "--pin", PIN], { env: { ...process.env, SOFTHSM2_CONF: conf } });
  assert.equal(init.status, 0, init.stderr);
});

const ca = () => join(home, "ca.pem");
const cert = (name: string) => join(home, "certs", `${name}.pem`);

test("init-root --pkcs11: certificates, CRL and OCSP signed in the token verify with openssl; no root key on disk", { skip }, async () => {
  const init = pkiJson<{ keyStorage: string }>(home, ["init-root", "--cn", "Token Root CA", "--pkcs11", URI], token);
  assert.equal(init.keyStorage, "pkcs11");
  assert.match(openssl(["x509", "-in", ca(), "-noout", "-text"]).stdout, /ecdsa-with-SHA256[\s\S]*CA:TRUE, pathlen:0/);
  assert.equal(openssl(["verify", "-CAfile", ca(), ca()]).status, 0, "the self-signature made in the token verifies");

  pkiJson(home, ["issue-client", "alice"], token);
  pkiJson(home, ["issue-client", "bob"], token);
  pkiJson(home, ["revoke", "bob", "--yes"], token);
  pkiJson(home, ["crl"], token);
  const verified = openssl(["verify", "-crl_check", "-CAfile", ca(), "-CRLfile", join(home, "crl.pem"), cert("alice")]);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  const revoked = openssl(["verify", "-crl_check", "-CAfile", ca(), "-CRLfile", join(home, "crl.pem"), cert("bob")]);
  assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
  const crl = openssl(["crl", "-in", join(home, "crl.pem"), "-CAfile", ca(), "-noout"]);
  assert.match(crl.stderr + crl.stdout, /verify OK/);

  // A leaf key is still sealed under the CA passphrase, and exports as before.
  const p12 = join(work.dir, "alice.p12");
  pkiJson(home, ["export-p12", "alice", "--out", p12], { ...token, PKI_P12_PASSWORD: "p12-password" });
  assert.equal(openssl(["pkcs12", "-in", p12, "-passin", "pass:p12-password", "-noout"]).status, 0);

  const served = await startServe(home, token);
  try {
    const ocsp = (name: string) => {
      const r = openssl(["ocsp", "-issuer", ca(), "-cert", cert(name), "-url", `${served.url}/ocsp`, "-VAfile", ca(), "-CAfile", ca()]);
      return r.stdout + r.stderr;
    };
    for (const [name, status] of [["alice", "good"], ["bob", "revoked"]]) {
      const answer = ocsp(name!);
      assert.match(answer, /Response verify OK/);
      assert.match(answer, new RegExp(`${name}\\.pem: ${status}`));
    }
  } finally {
    await served.stop();
  }

  // The ledger holds the token URI and no key for the root; the home holds only leaf keys.
  const db = new Database(join(home, "ledger.db"), { readonly: true });
  try {
    const root = db.prepare("SELECT key_encrypted FROM certificates WHERE kind = 'root'").get() as { key_encrypted: Buffer | null };
    assert.equal(root.key_encrypted, null);
    assert.equal((db.prepare("SELECT value FROM settings WHERE key = 'root.pkcs11-uri'").get() as { value: string }).value, URI);
  } finally {
    db.close();
  }
  assert.deepEqual(readdirSync(join(home, "private")).sort(), ["alice.key", "bob.key"]);
  const pem = Object.keys(snapshot(home)).filter((f) => !f.endsWith(".key") && !f.includes("/private") && /\.(pem|der)$/.test(f));
  for (const f of pem) assert.doesNotMatch(readFileSync(f, "utf8"), /PRIVATE KEY/, f);

  // In the token: the root key and the history (HMAC) key, sensitive, never extractable, for signing only.
  const signingOnly = { sensitive: true, extractable: false, neverExtractable: true, sign: true, decrypt: false };
  assert.deepEqual(tokenKeyAttributes(3), signingOnly);
  assert.deepEqual(tokenKeyAttributes(4), signingOnly);
});

test("check proves the token key usable; a wrong PIN is BAD_PIN and changes nothing", { skip }, () => {
  const ok = pki(home, ["check"], token);
  assert.match(ok.stdout, /ok\s+keys\s+the CA key is in the PKCS#11 token pkcs11:token=pki-test;object=root: reachable, and a test signature verifies/);

  // SQLite's -wal and -shm come and go with connections; the state is in the rest.
  const files = () => Object.fromEntries(Object.entries(snapshot(home)).filter(([f]) => !/-(wal|shm)$/.test(f)));
  // doctor (here against a closed port) reports the token too, and never prompts for its PIN.
  const doctor = (env: Record<string, string | undefined>) => (JSON.parse(pki(home, ["--json", "doctor", "127.0.0.1:1"], env).stdout) as { checks: { id: string; status: string; message: string }[] }).checks.find((c) => c.id === "ca.token-key");
  assert.equal(doctor(token)?.status, "pass");
  assert.match(doctor({ ...token, PKI_PKCS11_PIN: undefined })?.message ?? "", /not tried: no PIN/);
  assert.equal(doctor({ ...token, PKI_PKCS11_PIN: "0000" })?.status, "fail");

  const before = files();
  const wrong = pki(home, ["--json", "issue-client", "carol"], { ...token, PKI_PKCS11_PIN: "0000" });
  assert.equal(wrong.status, 5);
  assert.equal(JSON.parse(wrong.stdout).error.code, "BAD_PIN");
  assert.deepEqual(files(), before);
  const check = pki(home, ["check"], { ...token, PKI_PKCS11_PIN: "0000" });
  assert.equal(check.status, 8);
  assert.match(check.stdout, /FAIL\s+keys\s+the CA key in the PKCS#11 token .* is not usable: wrong PIN/);
});

test("passphrase change with the root in a token: leaf keys and the passphrase check move to the new passphrase", { skip }, () => {
  const next = join(work.dir, "next-passphrase");
  writeFileSync(next, "a brand new passphrase\n", { mode: 0o600 });
  const changed = pkiJson<{ keys: number }>(home, ["passphrase", "change", "--new-passphrase-file", next], token);
  assert.equal(changed.keys, 2);
  const old = pki(home, ["--json", "issue-client", "erin"], token);
  assert.equal(old.status, 5);
  assert.equal(JSON.parse(old.stdout).error.code, "BAD_PASSPHRASE");
  pkiJson(home, ["issue-client", "erin"], { ...token, PKI_PASSPHRASE: "a brand new passphrase" });
  const key = run("openssl", ["pkey", "-in", join(home, "private", "alice.key"), "-passin", "env:NEW", "-noout"], { env: { ...process.env, NEW: "a brand new passphrase" } });
  assert.equal(key.status, 0, key.stderr);
});

test("backup and restore keep the root in the token: the restored home signs there and check finds the key usable", { skip }, () => {
  const file = join(work.dir, "token-home.backup");
  pkiJson(home, ["backup", file], token);
  const restored = join(work.dir, "restored");
  const r = pkiJson<{ ok: boolean }>(restored, ["restore", file], token);
  assert.equal(r.ok, true);
  pkiJson(restored, ["issue-client", "frank"], { ...token, PKI_PASSPHRASE: "a brand new passphrase" });
  const v = openssl(["verify", "-CAfile", join(restored, "ca.pem"), join(restored, "certs", "frank.pem")]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(pki(restored, ["check"], token).stdout, /ok\s+keys\s+the CA key is in the PKCS#11 token/);

  // A backup whose token URI was edited to carry a PIN is not restored.
  const edited = join(work.dir, "edited.backup");
  copyFileSync(file, edited);
  const db = new Database(edited);
  db.prepare("UPDATE settings SET value = ? WHERE key = 'root.pkcs11-uri'").run(`${URI}?pin-value=${PIN}`);
  db.close();
  const refused = pki(join(work.dir, "restored-edited"), ["--json", "restore", edited], token);
  assert.equal(JSON.parse(refused.stdout).error.code, "BACKUP_TAMPERED");
  assert.match(JSON.parse(refused.stdout).error.message, /setting "root\.pkcs11-uri" holds/);
});

test("init-root --pkcs11 refuses a PIN in the URI, a label already in the token, a missing module; nothing is created", { skip }, () => {
  const other = join(work.dir, "other");
  const pinInUri = pki(other, ["--json", "init-root", "--cn", "X", "--pkcs11", "pkcs11:token=pki-test;object=x?pin-value=1234"], token);
  assert.equal(pinInUri.status, 2);
  assert.equal(JSON.parse(pinInUri.stdout).error.code, "BAD_PKCS11_URI");
  const taken = pki(other, ["--json", "init-root", "--cn", "X", "--pkcs11", URI], token);
  assert.equal(taken.status, 4);
  assert.equal(JSON.parse(taken.stdout).error.code, "PKCS11_KEY_EXISTS");
  const noModule = pki(other, ["--json", "init-root", "--cn", "X", "--pkcs11", "pkcs11:token=pki-test;object=x"], { ...token, PKI_PKCS11_MODULE: undefined });
  assert.equal(noModule.status, 2);
  assert.equal(JSON.parse(noModule.stdout).error.code, "PKCS11_MODULE_UNSET");
  const noToken = pki(other, ["--json", "init-root", "--cn", "X", "--pkcs11", "pkcs11:token=absent;object=x"], token);
  assert.equal(noToken.status, 3);
  assert.equal(JSON.parse(noToken.stdout).error.code, "PKCS11_TOKEN_NOT_FOUND");
  assert.ok(!existsSync(other));
});

test("init-root --pkcs11 --key rsa-2048 and ec-p384: roots in the token sign certificates and CRLs openssl verifies", { skip }, () => {
  for (const [key, text] of [["rsa-2048", /sha256WithRSAEncryption[\s\S]*Public-Key: \(2048 bit\)/], ["ec-p384", /ecdsa-with-SHA384[\s\S]*NIST CURVE: P-384/]] as const) {
    const keyHome = join(work.dir, key);
    pkiJson(keyHome, ["init-root", "--cn", `Token ${key} Root`, "--key", key, "--pkcs11", `pkcs11:token=pki-test;object=${key}-root`], token);
    pkiJson(keyHome, ["issue-client", "dave"], token);
    assert.match(openssl(["x509", "-in", join(keyHome, "ca.pem"), "-noout", "-text"]).stdout, text);
    const v = openssl(["verify", "-CAfile", join(keyHome, "ca.pem"), join(keyHome, "certs", "dave.pem")]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const crl = openssl(["crl", "-in", join(keyHome, "crl.pem"), "-CAfile", join(keyHome, "ca.pem"), "-noout"]);
    assert.match(crl.stdout + crl.stderr, /verify OK/, key);
  }
});

test("a second private key under the URI's label: signing is refused (PKCS11_KEY_AMBIGUOUS), nothing changes", { skip }, () => {
  const keyHome = join(work.dir, "ec-p384");
  withToken((p, session) => {
    const label = { type: 0x3, value: "ec-p384-root" };
    const curve = Buffer.from("06052b81040022", "hex");
    p.C_GenerateKeyPair(session, { mechanism: 0x1040 }, [{ type: 0x1, value: true }, label, { type: 0x180, value: curve }], [{ type: 0x1, value: true }, label, { type: 0x108, value: true }]);
  });
  const before = readFileSync(join(keyHome, "crl.pem"), "utf8");
  const r = pki(keyHome, ["--json", "crl"], token);
  assert.equal(r.status, 4, r.stdout + r.stderr);
  assert.equal(JSON.parse(r.stdout).error.code, "PKCS11_KEY_AMBIGUOUS");
  assert.equal(readFileSync(join(keyHome, "crl.pem"), "utf8"), before);
});

// Last: it leaves pki's own PKCS#11 module initialised in this process, which withToken's would collide with.
test("beside the root key, the token holds an HMAC-SHA256 key: MACs computed there are consistent and per CA", { skip }, async () => {
  const [{ TokenKey }, { parsePkcs11Uri }] = await Promise.all([import("../../src/crypto/pkcs11/token.js"), import("../../src/crypto/pkcs11/uri.js")]);
  process.env.SOFTHSM2_CONF = conf;
  const hmac = TokenKey.open(MODULE, parsePkcs11Uri(URI), PIN, true).history();
  const tag = hmac.mac("event 1|event 2");
  assert.match(tag, /^[0-9a-f]{64}$/);
  assert.equal(hmac.macAll(["event 1", "|", "", "event 2"]), tag);
  assert.ok(hmac.verify("event 1|event 2", tag));
  assert.ok(!hmac.verify("event 1|event 3", tag));
  assert.ok(!hmac.verify("event 1|event 2", tag.toUpperCase()));
  const other = TokenKey.open(MODULE, parsePkcs11Uri("pkcs11:token=pki-test;object=rsa-2048-root"), PIN, false).history();
  assert.notEqual(other.mac("event 1|event 2"), tag);
});

/** Runs `fn` in a logged-in session on the test token, through the same binding pki uses. */
function withToken<T>(fn: (p: any, session: Buffer) => T): T {
  process.env.SOFTHSM2_CONF = conf;
  const { PKCS11 } = createRequire(import.meta.url)("pkcs11js") as { PKCS11: new () => any };
  const p = new PKCS11();
  p.load(MODULE);
  p.C_Initialize();
  try {
    const slot = (p.C_GetSlotList(true) as Buffer[]).find((s) => p.C_GetTokenInfo(s).label.trim() === "pki-test")!;
    const session = p.C_OpenSession(slot, 6);
    p.C_Login(session, 1, PIN);
    return fn(p, session);
  } finally {
    p.C_Finalize();
  }
}

/** The protection attributes of the object of class `objectClass` (3 private key, 4 secret key) labelled "root". */
function tokenKeyAttributes(objectClass: number): Record<string, boolean> {
  return withToken((p, session) => {
    p.C_FindObjectsInit(session, [{ type: 0x0, value: objectClass }, { type: 0x3, value: "root" }]);
    const [key] = p.C_FindObjects(session, 1) as Buffer[];
    p.C_FindObjectsFinal(session);
    const read = (type: number) => (p.C_GetAttributeValue(session, key, [{ type }])[0].value as Buffer)[0] === 1;
    return { sensitive: read(0x103), extractable: read(0x162), neverExtractable: read(0x164), sign: read(0x108), decrypt: read(0x105) };
  });
}
