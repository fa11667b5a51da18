import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { initHome, mode, openssl, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

type Finding = { check: string; level: string; message: string; repaired?: boolean };
const findings = (home: string, args: string[]) => {
  const r = pki(home, ["--json", ...args]);
  return (JSON.parse(r.stdout) as { findings: Finding[] }).findings;
};
const tempFiles = (dir: string) => readdirSync(dir).filter((f) => /^\..*\.tmp-[0-9a-f]{12}$/.test(f));
const isRoot = process.getuid?.() === 0;

test("a private/ replaced by a symbolic link: no key is written through it, its target's mode stays, check names the link", (t) => {
  const { home, cleanup } = initHome();
  const elsewhere = tempDir();
  t.after(() => {
    cleanup();
    elsewhere.cleanup();
  });
  assert.equal(pki(home, ["issue-client", "alice"]).status, 0);
  const target = join(elsewhere.dir, "keys");
  renameSync(join(home, "private"), target);
  chmodSync(target, 0o755);
  symlinkSync(target, join(home, "private"));
  const ledgerBefore = snapshot(home)[join(home, "ledger.db")];
  const outsideBefore = snapshot(elsewhere.dir);

  const r = pki(home, ["issue-client", "bob"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /private is a symbolic link; pki does not write through links/);
  assert.deepEqual(snapshot(elsewhere.dir), outsideBefore, "nothing written or chmodded through the link");
  assert.equal(snapshot(home)[join(home, "ledger.db")], ledgerBefore, "the ledger is unchanged");
  assert.equal(pkiJson<unknown[]>(home, ["list"]).length, 2, "bob was not issued");

  const check = pki(home, ["check"]);
  assert.equal(check.status, 8);
  assert.match(check.stdout, /private is a symbolic link inside the CA home/);
  pki(home, ["check", "--repair"]);
  assert.equal(mode(target), 0o755, "check --repair does not chmod through the link");
  assert.deepEqual(snapshot(elsewhere.dir), outsideBefore);
});

test("a ledger row named ../../victim/evil is never written outside the home by check --repair", (t) => {
  const { home, cleanup } = initHome();
  t.after(cleanup);
  assert.equal(pki(home, ["issue-client", "alice"]).status, 0);
  const victim = join(home, "..", "victim");
  mkdirSync(victim);
  const db = new Database(join(home, "ledger.db"));
  db.exec(`UPDATE certificates SET name = '../../victim/evil' WHERE name = 'alice'`);
  db.close();

  const repaired = findings(home, ["check", "--repair"]);
  assert.ok(repaired.some((f) => f.level === "error" && /"\.\.\/\.\.\/victim\/evil", which is not a safe file name/.test(f.message)), JSON.stringify(repaired));
  assert.deepEqual(readdirSync(victim), []);
  assert.ok(!existsSync(join(home, "..", "victim", "evil.pem")));
  assert.ok(!existsSync(join(home, "victim")));
});

test("crl.pem reinstalled from the ledger runs the CRL hook: after a stale file is healed by a change, and by check --repair", (t) => {
  const { home, cleanup } = initHome();
  t.after(cleanup);
  const marker = join(home, "..", "hook-ran");
  assert.equal(pki(home, ["hook", "set", "crl", `echo "$PKI_CRL" >> '${marker}'`]).status, 0);
  assert.equal(pki(home, ["issue-client", "alice"]).status, 0);
  assert.equal(pki(home, ["revoke", "alice"]).status, 0);
  rmSync(marker);

  // A crash between commit and rename leaves the older CRL, without alice.
  writeFileSync(join(home, "crl.pem"), "stale\n");
  assert.equal(pki(home, ["issue-client", "bob"]).status, 0);
  assert.equal(readFileSync(marker, "utf8"), `${join(home, "crl.pem")}\n`, "the next change reinstalled crl.pem and ran the hook");
  assert.match(openssl(["crl", "-in", join(home, "crl.pem"), "-noout", "-text"]).stdout, /Serial Number/);

  rmSync(marker);
  rmSync(join(home, "crl.pem"));
  assert.equal(pki(home, ["check", "--repair"]).status, 0);
  assert.equal(readFileSync(marker, "utf8"), `${join(home, "crl.pem")}\n`, "check --repair ran the hook");
});

test("a kill during export-key --unencrypted --out never leaves an unreported plaintext key: check finds the temp file, --repair removes it", (t) => {
  const { home, cleanup } = initHome();
  const out = tempDir();
  t.after(() => {
    cleanup();
    out.cleanup();
  });
  assert.equal(pki(home, ["issue-server", "web.internal"]).status, 0);
  for (const point of ["before-commit", "after-commit", "export-staged"]) {
    const r = pki(home, ["export-key", "web.internal", "--unencrypted", "--out", join(out.dir, "web.key")], { PKI_CRASH_AT: point });
    assert.equal(r.status, -1, `${point}: pki was not killed (exit ${r.status}: ${r.stderr})`);
    const left = tempFiles(out.dir);
    const reported = findings(home, ["check"]).filter((f) => f.check === "files" && /left over from an interrupted pki process/.test(f.message));
    for (const f of left) assert.ok(reported.some((x) => x.message.includes(join(out.dir, f))), `${point}: ${f} in the --out folder is not reported`);
    findings(home, ["check", "--repair"]);
    assert.deepEqual(tempFiles(out.dir), [], `${point}: check --repair removes it`);
  }
  assert.ok(!existsSync(join(out.dir, "web.key")));
});

test("export-key refuses to write over a symbolic link and a key mode readable by everyone", (t) => {
  const { home, cleanup } = initHome();
  const out = tempDir();
  t.after(() => {
    cleanup();
    out.cleanup();
  });
  assert.equal(pki(home, ["issue-server", "web.internal"]).status, 0);
  writeFileSync(join(out.dir, "real"), "x");
  symlinkSync(join(out.dir, "real"), join(out.dir, "web.key"));
  const linked = pki(home, ["--json", "export-key", "web.internal", "--unencrypted", "--out", join(out.dir, "web.key")]);
  assert.equal(linked.status, 7, linked.stderr);
  assert.equal(JSON.parse(linked.stdout).error.code, "SYMLINK_REFUSED");
  assert.equal(readFileSync(join(out.dir, "real"), "utf8"), "x");
  const open = pki(home, ["--json", "export-key", "web.internal", "--unencrypted", "--out", join(out.dir, "k"), "--mode", "0644"]);
  assert.equal(JSON.parse(open.stdout).error.code, "MODE_TOO_OPEN", open.stdout);
  assert.ok(!existsSync(join(out.dir, "k")));
  assert.deepEqual(tempFiles(out.dir), []);
});

test("--owner, --group and --mode set the exported file's; a re-export over it keeps them", { skip: isRoot ? false : "giving a file away needs root (CI runs as root)" }, (t) => {
  const { home, cleanup } = initHome();
  const out = tempDir();
  t.after(() => {
    cleanup();
    out.cleanup();
  });
  chmodSync(out.dir, 0o755);
  assert.equal(pki(home, ["issue-server", "db.internal"]).status, 0);
  const key = join(out.dir, "server.key");
  const crl = join(out.dir, "crl.pem");
  assert.equal(pki(home, ["export-key", "db.internal", "--unencrypted", "--out", key, "--owner", "nobody", "--group", "nogroup", "--mode", "0640"]).status, 0);
  assert.equal(pki(home, ["crl", "--out", crl, "--group", "nogroup", "--mode", "0640"]).status, 0);
  const owned = (p: string) => {
    const st = statSync(p);
    return `${st.uid}:${st.gid} ${(st.mode & 0o777).toString(8)}`;
  };
  assert.equal(owned(key), "65534:65534 640");
  assert.equal(owned(crl), "0:65534 640");
  // The re-export a renewal needs: same owner, group and mode, new content.
  assert.equal(pki(home, ["renew", "db.internal"]).status, 0);
  const before = readFileSync(key, "utf8");
  assert.equal(pki(home, ["export-key", "db.internal", "--unencrypted", "--out", key]).status, 0);
  assert.equal(pki(home, ["crl", "--out", crl]).status, 0);
  assert.notEqual(readFileSync(key, "utf8"), before);
  assert.equal(owned(key), "65534:65534 640");
  assert.equal(owned(crl), "0:65534 640");
  // The server's user reads them (what PostgreSQL and Mosquitto do after a re-export).
  const read = spawnAs(65534, ["openssl", "pkey", "-in", key, "-noout"]);
  assert.equal(read, 0);
  // Told otherwise, it changes.
  assert.equal(pki(home, ["export-key", "db.internal", "--unencrypted", "--out", key, "--mode", "0600", "--owner", "0", "--group", "0"]).status, 0);
  assert.equal(owned(key), "0:0 600");
  const unknown = pki(home, ["--json", "export-key", "db.internal", "--unencrypted", "--out", key, "--group", "no-such-group-here"]);
  assert.equal(JSON.parse(unknown.stdout).error.code, "NO_SUCH_ID");
});

function spawnAs(id: number, argv: string[]): number | null {
  return spawnSync(argv[0]!, argv.slice(1), { uid: id, gid: id, stdio: "ignore" }).status;
}
