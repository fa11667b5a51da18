import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { openssl, PASSPHRASE, pki, PKI_BIN, pkiJson, ROOT, run, snapshot, tempDir } from "../helpers.js";

// A home on a read-only mount (a snapshot, a mounted backup). chmod would not do: the tests
// run as root, which ignores modes, but not a read-only file system.
const work = tempDir();
const mnt = join(work.dir, "ro");
const home = join(mnt, "home");
let mounted = false;

before(() => {
  mkdirSync(mnt, { recursive: true });
  mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]).status === 0;
  if (!mounted) return;
  assert.equal(pki(home, ["init-root", "--cn", "RO CA"]).status, 0);
  assert.equal(pki(home, ["issue-client", "alice", "--email", "alice@example.com"]).status, 0);
  assert.equal(pki(home, ["revoke", "alice"]).status, 0);
  assert.equal(pki(home, ["issue-client", "bob"]).status, 0);
  assert.equal(pki(home, ["issue-server", "srv.example.com"]).status, 0);
  assert.equal(spawnSync("mount", ["-o", "remount,ro", mnt]).status, 0);
});
after(() => {
  if (mounted) spawnSync("umount", ["-l", mnt]);
  work.cleanup();
});

test("list, show, audit, audit --verify, check, hook show, config list/get and server-config work on a read-only home and change nothing", (t) => {
  if (!mounted) return t.skip("cannot mount a tmpfs here (needs root)");
  const before = snapshot(home);
  assert.ok(!existsSync(join(home, "ledger.db-wal")), "a cleanly closed home: no -wal or -shm to read through");
  const list = pkiJson<{ name: string; status: string }[]>(home, ["list"]);
  assert.deepEqual(list.map((c) => [c.name, c.status]), [["RO CA", "valid"], ["alice", "revoked"], ["bob", "valid"], ["srv.example.com", "valid"]]);
  assert.equal(pkiJson<{ name: string }>(home, ["show", "bob"]).name, "bob");
  assert.match(pki(home, ["show", "alice"]).stdout, /status: +revoked/);
  assert.ok(pkiJson<unknown[]>(home, ["audit"]).length >= 5);
  const verify = pkiJson<{ ok: boolean; events: number }>(home, ["audit", "--verify"]);
  assert.equal(verify.ok, true);
  const check = pki(home, ["check"]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /The home is sound/);
  assert.equal(pki(home, ["hook", "show"]).status, 0);
  assert.equal(pki(home, ["config", "list"]).status, 0);
  assert.equal(pkiJson<{ key: string }>(home, ["config", "get", "crl-lifetime"]).key, "crl-lifetime");
  const nginx = pki(home, ["server-config", "nginx", "--server", "srv.example.com"]);
  assert.equal(nginx.status, 0, nginx.stderr);
  assert.match(nginx.stdout, /ssl_verify_client\s+on;/);
  assert.deepEqual(snapshot(home), before);
});

test("backup of a read-only home to a writable place: a complete ledger, with a warning that the event log cannot record it", (t) => {
  if (!mounted) return t.skip("cannot mount a tmpfs here (needs root)");
  const before = snapshot(home);
  const file = join(work.dir, "ro-backup.db");
  const r = pki(home, ["--json", "backup", file]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).certificates, 4);
  assert.equal(JSON.parse(r.stdout).recorded, false);
  assert.match(r.stderr, /warning: the event log does not record this backup \(the home cannot be written/);
  assert.deepEqual(snapshot(home), before);
  // The copy is a whole CA: it restores, and its CRL still lists alice.
  const restored = join(work.dir, "restored");
  const rr = pki(restored, ["restore", file]);
  assert.equal(rr.status, 0, rr.stdout + rr.stderr);
  assert.equal(pki(restored, ["check"]).status, 0);
  const crl = openssl(["crl", "-in", join(restored, "crl.pem"), "-noout", "-text"]).stdout;
  const alice = pkiJson<{ serial: string }>(restored, ["show", "alice"]);
  assert.match(crl, new RegExp(alice.serial.toUpperCase()));
});

test("a change on a read-only home names the path it could not write and why, exit 7, nothing changed", (t) => {
  if (!mounted) return t.skip("cannot mount a tmpfs here (needs root)");
  const before = snapshot(home);
  for (const args of [["issue-client", "carol"], ["crl"], ["check", "--repair"], ["revoke", "bob"]]) {
    const r = pki(home, ["--json", ...args]);
    assert.equal(r.status, 7, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^pki: ${args[0]}[^:]*: cannot write ${mnt}/home\\S*: read-only file system; `), args.join(" "));
    assert.equal(JSON.parse(r.stdout).error.code, "READ_ONLY");
  }
  assert.deepEqual(snapshot(home), before);
});

test("a read-only home with committed changes still in its -wal (a snapshot of a running CA): read through it, or refuse when the -shm is gone", (t) => {
  const snap = join(work.dir, "snap");
  mkdirSync(snap, { recursive: true });
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", snap]).status !== 0) return t.skip("cannot mount a tmpfs here (needs root)");
  try {
    const h = join(snap, "home");
    assert.equal(pki(h, ["init-root", "--cn", "Snapshot CA"]).status, 0);
    // A writer killed before any checkpoint: its commit exists only in ledger.db-wal.
    const writer = `const D = require("better-sqlite3"); const db = new D(${JSON.stringify(join(h, "ledger.db"))});
      db.pragma("wal_autocheckpoint = 0"); db.prepare("INSERT INTO settings (key, value) VALUES ('hooks.crl', 'echo from-the-wal')").run();
      process.kill(process.pid, "SIGKILL");`;
    spawnSync(process.execPath, ["-e", writer], { cwd: ROOT });
    assert.ok(existsSync(join(h, "ledger.db-wal")) && existsSync(join(h, "ledger.db-shm")));
    assert.equal(spawnSync("mount", ["-o", "remount,ro", snap]).status, 0);
    assert.deepEqual(pkiJson(h, ["hook", "show"]), { crl: "echo from-the-wal" });

    // The same files without the -shm (copied by a tool that skipped it): refused, not a stale view.
    assert.equal(spawnSync("mount", ["-o", "remount,rw", snap]).status, 0);
    rmSync(join(h, "ledger.db-shm"));
    assert.equal(spawnSync("mount", ["-o", "remount,ro", snap]).status, 0);
    const r = pki(h, ["--json", "hook", "show"]);
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stderr, /ledger\.db-wal holds changes not yet merged into .*ledger\.db, and the home cannot be written; copy the home/);
    assert.equal(JSON.parse(r.stdout).error.code, "READ_ONLY");
  } finally {
    spawnSync("umount", ["-l", snap]);
  }
});

test("a home another user may read but not write: reads work, a change says permission denied; an unreadable home is not 'no CA'", (t) => {
  const user = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"];
  if (process.getuid?.() !== 0 || spawnSync("setpriv", [...user, "true"]).status !== 0) return t.skip("needs root and setpriv");
  const shared = join(work.dir, "shared");
  const h = join(shared, "home");
  assert.equal(pki(h, ["init-root", "--cn", "Shared CA"]).status, 0);
  for (const [p, m] of [[work.dir, 0o755], [shared, 0o755], [h, 0o755], [join(h, "ledger.db"), 0o644]] as const) chmodSync(p, m);
  const asNobody = (args: string[]) => run("setpriv", [...user, process.execPath, PKI_BIN, "--home", h, ...args], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", PKI_PASSPHRASE: PASSPHRASE } });
  try {
    const before = snapshot(h);
    const list = asNobody(["--json", "list"]);
    assert.equal(list.status, 0, list.stderr);
    assert.equal(JSON.parse(list.stdout).length, 1);
    const change = asNobody(["--json", "crl"]);
    assert.equal(change.status, 7, change.stderr);
    assert.match(change.stderr, new RegExp(`^pki: crl: cannot write ${h}: permission denied; `));
    assert.equal(JSON.parse(change.stdout).error.code, "PERMISSION_DENIED");
    assert.deepEqual(snapshot(h), before);

    chmodSync(h, 0o700);
    const closed = asNobody(["--json", "list"]);
    assert.equal(closed.status, 7, closed.stderr);
    assert.match(closed.stderr, /permission denied/);
    assert.equal(JSON.parse(closed.stdout).error.code, "PERMISSION_DENIED");
  } finally {
    chmodSync(work.dir, 0o700);
  }
});
