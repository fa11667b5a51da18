import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { initHome, openssl, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
pkiJson(home, ["issue-client", "alice"]);

/** One invocation per command that touches the ledger. */
const EVERY_COMMAND: string[][] = [
  ["issue-client", "bob"],
  ["export-p12", "alice"],
  ["revoke", "alice"],
  ["crl"],
  ["list"],
  ["show", "alice"],
  ["renew", "alice"],
  ["check"],
  ["audit", "--verify"],
  ["backup", "/tmp/never-written.db"],
  ["passphrase", "change"],
];

function copyHome(name: string, mutate: (h: string) => void): string {
  const h = join(work.dir, name);
  mkdirSync(h, { mode: 0o700 });
  copyFileSync(join(home, "ledger.db"), join(h, "ledger.db"));
  mutate(h);
  return h;
}

function expectEverywhere(h: string, code: number, why: RegExp) {
  const before = snapshot(h);
  for (const args of EVERY_COMMAND) {
    const r = pki(h, args, { PKI_P12_PASSWORD: "pw", PKI_NEW_PASSPHRASE: "another passphrase" });
    assert.equal(r.status, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, why, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `${args.join(" ")}: one line`);
    assert.match(r.stderr, new RegExp(`^pki: ${args[0]}${args[0] === "passphrase" ? " change" : ""}`));
  }
  assert.deepEqual(snapshot(h), before, "byte-for-byte unchanged");
}

test("a home whose ledger is not a database: exit 7 from every command, nothing written", () => {
  expectEverywhere(copyHome("junk", (h) => writeFileSync(join(h, "ledger.db"), "hello ".repeat(1000))), 7, /not a pki ledger/);
});

test("a truncated ledger: exit 7, nothing written", () => {
  expectEverywhere(
    copyHome("truncated", (h) => writeFileSync(join(h, "ledger.db"), Buffer.from("SQLite format 3\0" + "x".repeat(200)))),
    7,
    /not a pki ledger/,
  );
});

test("a ledger from a newer pki: exit 7 naming both versions", () => {
  const h = copyHome("newer", (dir) => {
    const db = new Database(join(dir, "ledger.db"));
    db.pragma("user_version = 42");
    db.close();
  });
  expectEverywhere(h, 7, /ledger schema version 42 is newer than this pki understands \(\d+\)/);
});

test("a missing home: exit 3 from every command with a hint to init-root", () => {
  expectEverywhere(join(work.dir, "does-not-exist"), 3, /no CA in .*does-not-exist; create one with: pki init-root/);
});

test("CSRs with key types pki does not sign: Ed25519 and RSA-1024", () => {
  const ed = join(work.dir, "ed.csr");
  const ek = join(work.dir, "ed.key");
  openssl(["genpkey", "-algorithm", "ed25519", "-out", ek]);
  assert.equal(openssl(["req", "-new", "-key", ek, "-subj", "/CN=x", "-out", ed]).status, 0);
  const rsa = join(work.dir, "rsa1024.csr");
  assert.equal(openssl(["req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", join(work.dir, "r.key"), "-subj", "/CN=x", "-out", rsa]).status, 0);
  const before = snapshot(home);
  for (const [file, why] of [[ed, /the CSR's key is Ed25519/], [rsa, /the CSR's key is RSASSA-PKCS1-v1_5 1024-bit/]] as const) {
    const r = pki(home, ["issue-client", "weird", "--csr", file]);
    assert.equal(r.status, 6, r.stderr);
    assert.match(r.stderr, why);
  }
  assert.deepEqual(snapshot(home), before);
});

/** Mounts a small tmpfs (we run as root in CI); returns null where mounting is not allowed. */
function tmpfs(dir: string, size: string): (() => void) | null {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  if (r.status !== 0) return null;
  return () => spawnSync("umount", ["-l", dir]);
}

test("a full disk: issue-client fails with exit 7 and leaves ledger and files as they were", (t) => {
  const mnt = join(work.dir, "full");
  const unmount = tmpfs(mnt, "2m");
  if (!unmount) return t.skip("cannot mount a tmpfs here (needs root)");
  try {
    const h = join(mnt, "home");
    assert.equal(pki(h, ["init-root", "--cn", "Small Disk CA"]).status, 0);
    // Fill the disk to its last two kilobytes.
    const free = Number(spawnSync("df", ["--output=avail", "-k", mnt], { encoding: "utf8" }).stdout.trim().split("\n")[1]);
    spawnSync("dd", ["if=/dev/zero", `of=${join(mnt, "filler")}`, "bs=1k", `count=${Math.max(0, free - 2)}`], { stdio: "ignore" });
    const before = snapshot(h);
    const r = pki(h, ["issue-client", "alice"]);
    assert.equal(r.status, 7, r.stdout + r.stderr);
    assert.match(r.stderr, /no space left on device/);
    // SQLite may be unable to remove its (empty) WAL sidecar files on a full disk; the
    // ledger itself and every output are byte-for-byte unchanged.
    const after = snapshot(h);
    const EMPTY = "600 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    if (after[join(h, "ledger.db-wal")]) assert.equal(after[join(h, "ledger.db-wal")], EMPTY, "the WAL holds no committed change");
    delete after[join(h, "ledger.db-wal")];
    delete after[join(h, "ledger.db-shm")];
    assert.deepEqual(after, before);
  } finally {
    unmount();
  }
});

test("a read-only home: issuing fails with exit 7 and a clear reason", (t) => {
  const mnt = join(work.dir, "ro");
  const unmount = tmpfs(mnt, "8m");
  if (!unmount) return t.skip("cannot mount a tmpfs here (needs root)");
  try {
    const h = join(mnt, "home");
    assert.equal(pki(h, ["init-root", "--cn", "RO CA"]).status, 0);
    assert.equal(spawnSync("mount", ["-o", "remount,ro", mnt]).status, 0);
    const before = snapshot(h);
    const r = pki(h, ["issue-client", "alice"]);
    assert.equal(r.status, 7, r.stdout + r.stderr);
    assert.match(r.stderr, /read-only/);
    assert.deepEqual(snapshot(h), before);
  } finally {
    unmount();
  }
});
