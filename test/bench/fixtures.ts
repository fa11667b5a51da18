// Prepared homes, ledgers and baseline directories. Each is built once per bench run; every
// timed run works on a fresh copy (`freshCopy`, outside the timing), so no run measures what an
// earlier one left behind.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { nameKey } from "../../src/ledger/name-key.js";
import { PKI_BIN } from "../helpers.js";
import { EASYRSA } from "./environment.js";
import type { Step } from "./measure.js";

/** The CA passphrase and the .p12 password, passed through the environment on every side. */
export const SECRETS = { PKI_PASSPHRASE: "bench passphrase for pki", PKI_P12_PASSWORD: "bench p12 password" };

export function pkiStep(home: string, args: string[]): Step {
  return { cmd: process.execPath, args: [PKI_BIN, "--home", home, ...args], env: SECRETS };
}

/**
 * Replaces `copy` with an exact copy of `fixture` (a directory). When it holds a large file, the
 * whole file system is synced here (syncfs: the copy, and the discard of the copy it replaced),
 * so that the kernel writing back a 1 GB ledger does not compete with the timed run.
 */
export function freshCopy(fixture: string, copy: string): void {
  rmSync(copy, { recursive: true, force: true });
  cpSync(fixture, copy, { recursive: true, preserveTimestamps: true });
  const large = readdirSync(copy, { recursive: true, withFileTypes: true }).some((e) => e.isFile() && statSync(join(e.parentPath, e.name)).size >= 1 << 20);
  if (large) execFileSync("sync", ["--file-system", copy]);
}

function pki(env: Record<string, string>, home: string, ...args: string[]): string {
  return execFileSync(process.execPath, [PKI_BIN, "--home", home, ...args], { env: { ...env, ...SECRETS }, encoding: "utf8" });
}

/** A CA with `clients` client certificates (user0, user1, ...), made by pki itself. */
export function smallHome(env: Record<string, string>, home: string, clients: number): void {
  pki(env, home, "init-root", "--cn", "Bench Root");
  const names = join(home, "..", `${clients}-names.txt`);
  writeFileSync(names, Array.from({ length: clients }, (_, i) => `user${i}`).join("\n") + "\n");
  pki(env, home, "issue-client", "--from", names);
  rmSync(names);
}

/** The environment easy-rsa runs with: EC P-256 like pki, and the passphrase read from the environment like pki's. */
export function easyRsaEnv(dir: string): Record<string, string> {
  return {
    EASYRSA_BATCH: "1",
    EASYRSA_PKI: join(dir, "pki"),
    EASYRSA_ALGO: "ec",
    EASYRSA_CURVE: "prime256v1",
    EASYRSA_PASSIN: "env:PKI_PASSPHRASE",
    EASYRSA_PASSOUT: "env:PKI_PASSPHRASE",
    ...SECRETS,
  };
}

/** An easy-rsa PKI whose CA key is encrypted with the passphrase. */
export function easyRsaPki(env: Record<string, string>, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const e = { ...env, ...easyRsaEnv(dir) };
  execFileSync(EASYRSA, ["init-pki"], { cwd: dir, env: e, stdio: "ignore" });
  execFileSync(EASYRSA, ["build-ca"], { cwd: dir, env: { ...e, EASYRSA_REQ_CN: "Bench Root" }, stdio: "ignore" });
}

/**
 * pki's own root key, as the encrypted PKCS#8 PEM it stores (PBES2, PBKDF2 at pki's iteration
 * count), so an openssl baseline signing with it pays the same key derivation as pki.
 */
export function exportRootKey(home: string, out: string): void {
  const db = new Database(join(home, "ledger.db"), { readonly: true });
  const row = db.prepare("SELECT key_encrypted FROM certificates WHERE kind = 'root' AND state = 'active'").get() as { key_encrypted: Buffer };
  db.close();
  const b64 = row.key_encrypted.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n");
  writeFileSync(out, `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${b64}-----END ENCRYPTED PRIVATE KEY-----\n`, { mode: 0o600 });
}

export interface LedgerRows {
  /** Active certificates that expire within the next 30 days. */
  expiringSoon: number;
  /** Other active certificates, expiring in 31 to 730 days. */
  valid: number;
  revoked: number;
}

export interface ScaleLedger {
  /** A valid certificate that is neither first nor last in any index, for show and revoke. */
  probeName: string;
  probeSerial: string;
  rows: number;
}

/**
 * Adds certificate rows with SQL inserts to a home made by `smallHome` (so it has a real root
 * and at least one real client). Every row is a real certificate row: the DER and encrypted key
 * of the first client, reused (pki reads them only when a command needs that one certificate),
 * with its own serial, name, subject, dates and state. Optionally writes an `openssl ca` index
 * (index.txt) holding the same rows, valid and revoked, as a real index would.
 */
export function fillLedger(home: string, rows: LedgerRows, opensslIndex?: string): ScaleLedger {
  const db = new Database(join(home, "ledger.db"));
  const template = db.prepare("SELECT der, key_encrypted FROM certificates WHERE name = 'user0'").get() as { der: Buffer; key_encrypted: Buffer };
  const insert = db.prepare(
    `INSERT INTO certificates (serial, name, name_key, kind, subject, not_before, not_after, der, key_encrypted, csr, state, revoked_at, revocation_reason, created_at)
     VALUES (?, ?, ?, 'client', ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)`,
  );
  const now = Date.now();
  const day = 86_400_000;
  const total = rows.expiringSoon + rows.valid + rows.revoked;
  const index: string[] = [];
  const iso = (ms: number) => new Date(ms).toISOString();
  db.transaction(() => {
    for (let i = 0; i < total; i++) {
      const serial = serialOf(i);
      const name = `s${i}`;
      const revoked = i < rows.revoked;
      const soon = !revoked && i < rows.revoked + rows.expiringSoon;
      const notAfter = now + (soon ? 1 + (i % 29) : 31 + (i % 700)) * day;
      const revokedAt = revoked ? now - ((i % 300) + 1) * 3_600_000 : null;
      insert.run(serial, name, nameKey(name), `CN=${name}`, iso(now - 400 * day), iso(notAfter), template.der, template.key_encrypted,
        revoked ? "revoked" : "active", revokedAt === null ? null : iso(revokedAt), revoked ? 1 : null, iso(now - 400 * day + i));
      if (opensslIndex) {
        const status = revoked ? `R\t${utcTime(notAfter)}\t${utcTime(revokedAt!)},keyCompromise` : `V\t${utcTime(notAfter)}\t`;
        index.push(`${status}\t${serial.toUpperCase()}\tunknown\t/CN=${name}`);
      }
    }
  })();
  db.close();
  execFileSync(process.execPath, [join(import.meta.dirname, "reanchor.js"), home], { env: { ...process.env, ...SECRETS }, stdio: "inherit" });
  if (opensslIndex) writeFileSync(opensslIndex, index.join("\n") + "\n");
  const probe = rows.revoked + rows.expiringSoon + Math.floor(rows.valid / 2);
  return { probeName: `s${probe}`, probeSerial: serialOf(probe), rows: total };
}

/** 16 bytes, unique per row and scattered like pki's random serials. */
function serialOf(i: number): string {
  return (Math.imul(i + 1, 2654435761) >>> 1).toString(16).padStart(8, "0") + (0x5000_0000 + i).toString(16) + "0badc0decafef00d";
}

/** openssl ca's index dates: UTCTime, YYMMDDHHMMSSZ. */
function utcTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
}

/** An `openssl ca` directory signing with pki's root (same certificate, same encrypted key); its ca.cnf works from any copy (run it with cwd = the copy). */
export function opensslCaDir(home: string, dir: string): void {
  mkdirSync(join(dir, "newcerts"), { recursive: true });
  exportRootKey(home, join(dir, "ca.key"));
  writeFileSync(join(dir, "ca.pem"), readFileSync(join(home, "ca.pem")));
  writeFileSync(join(dir, "crlnumber"), "01\n");
  writeFileSync(join(dir, "index.txt.attr"), "unique_subject = no\n");
  writeFileSync(
    join(dir, "ca.cnf"),
    `[ ca ]\ndefault_ca = bench\n[ bench ]\ndir = .\ndatabase = $dir/index.txt\ncrlnumber = $dir/crlnumber\nnew_certs_dir = $dir/newcerts\n` +
      `certificate = $dir/ca.pem\nprivate_key = $dir/ca.key\ndefault_md = sha256\ndefault_crl_days = 30\nunique_subject = no\ncrl_extensions = crl_ext\npolicy = any\n` +
      `[ any ]\ncommonName = supplied\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n`,
  );
}
