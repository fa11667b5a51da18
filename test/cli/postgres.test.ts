// The CLI on a PostgreSQL ledger, against a private cluster started for this file.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { mode, openssl, PASSPHRASE, pki, PKI_BIN, pkiJson, ROOT, run, snapshot, tempDir } from "../helpers.js";
import { type PgCluster, startCluster } from "../postgres-cluster.js";

let cluster: PgCluster;
const work = tempDir();
before(() => {
  cluster = startCluster();
});
after(() => {
  cluster.remove();
  work.cleanup();
});

let homes = 0;
/** A new CA home on a new database: init-root given PKI_DATABASE_URL. */
async function pgHome(): Promise<{ home: string; url: string }> {
  const url = await cluster.createDatabase();
  const home = join(work.dir, `home${++homes}`);
  const r = pki(home, ["init-root", "--cn", "PG Root CA"], { PKI_DATABASE_URL: url });
  assert.equal(r.status, 0, r.stderr);
  return { home, url };
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

test("a CA on PostgreSQL: init-root, issue-client, revoke, crl, list, show, audit --verify, check; artifacts verified by openssl", async () => {
  const { home, url } = await pgHome();
  assert.equal(existsSync(join(home, "ledger.db")), false, "no SQLite ledger in a PostgreSQL home");
  assert.equal(readFileSync(join(home, "database"), "utf8"), `${url}\n`);
  assert.equal(mode(join(home, "database")), 0o600);
  const ca = join(home, "ca.pem");
  const crl = join(home, "crl.pem");

  // From here on the home's `database` file finds the ledger: no PKI_DATABASE_URL.
  const alice = pkiJson<{ serial: string; certificate: string }>(home, ["issue-client", "alice"]);
  const bob = pkiJson<{ serial: string; certificate: string }>(home, ["issue-client", "bob"]);
  assert.equal(openssl(["verify", "-CAfile", ca, alice.certificate]).status, 0);
  const revoked = pkiJson<{ serial: string; crlNumber: number }>(home, ["revoke", "alice", "--reason", "keyCompromise"]);
  assert.equal(revoked.serial, alice.serial);
  const regenerated = pkiJson<{ number: number }>(home, ["crl"]);
  assert.equal(regenerated.number, revoked.crlNumber + 1);
  const text = openssl(["crl", "-in", crl, "-CAfile", ca, "-noout", "-text"]);
  assert.match(text.stderr + text.stdout, /verify OK/);
  assert.match(text.stdout, new RegExp(`CRL Number: \\s*${regenerated.number}\\b`));
  const refused = openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, alice.certificate]);
  assert.match(refused.stdout + refused.stderr, /certificate revoked/);
  assert.equal(openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, bob.certificate]).status, 0);

  const listed = pkiJson<{ name: string; status: string }[]>(home, ["list"]);
  assert.deepEqual(listed.filter((c) => c.name !== "PG Root CA").map((c) => [c.name, c.status]), [["alice", "revoked"], ["bob", "valid"]]);
  assert.equal(pkiJson<{ status: string }>(home, ["show", "alice"]).status, "revoked");
  const audit = pki(home, ["--json", "audit", "--verify"]);
  assert.equal(audit.status, 0, audit.stdout + audit.stderr);
  const check = pki(home, ["check"]);
  assert.equal(check.status, 0, check.stdout + check.stderr);

  // The rows are in PostgreSQL, the root's key encrypted among them.
  const rows = await query<{ name: string; state: string; has_key: boolean }>(url, "SELECT name, state, key_encrypted IS NOT NULL AS has_key FROM certificates ORDER BY seq");
  assert.deepEqual(rows.map((r) => [r.name, r.state, r.has_key]), [["PG Root CA", "active", true], ["alice", "revoked", true], ["bob", "active", true]]);
});

test("revoke --from on PostgreSQL: chunks, one CRL listing all; killed between chunks, check reports it and --repair signs the CRL", async () => {
  const { home } = await pgHome();
  const names = ["pa", "pb", "pc", "pd"];
  const file = join(work.dir, "pg-list.txt");
  writeFileSync(file, names.join("\n") + "\n");
  assert.equal(pki(home, ["issue-client", "--from", file]).status, 0);
  const killed = pki(home, ["revoke", "--from", file, "--chunk-size", "2"], { PKI_CRASH_AT: "mid-batch" });
  assert.equal(killed.status, -1, killed.stderr);
  const check = pki(home, ["check"]);
  assert.equal(check.status, 8);
  assert.match(check.stdout, /lists 0 revoked certificates but the ledger has 2: a bulk revocation/);
  assert.equal(pkiJson<{ ok: boolean }>(home, ["check", "--repair"]).ok, true);
  const rest = pkiJson<{ revoked: { name: string }[]; alreadyRevoked: number }>(home, ["revoke", "--from", file, "--chunk-size", "2"]);
  assert.deepEqual([rest.revoked.map((c) => c.name), rest.alreadyRevoked], [["pc", "pd"], 2]);
  const text = openssl(["crl", "-in", join(home, "crl.pem"), "-CAfile", join(home, "ca.pem"), "-noout", "-text"]);
  assert.match(text.stderr + text.stdout, /verify OK/);
  assert.equal(text.stdout.match(/Serial Number:/g)?.length, 4);
  assert.equal(pki(home, ["audit", "--verify"]).status, 0);
  assert.equal(pki(home, ["check"]).status, 0);
});

test("pki backup of a PostgreSQL ledger writes a SQLite ledger that pki restore turns into a working home", async () => {
  const { home } = await pgHome();
  pkiJson(home, ["issue-client", "carol"]);
  const file = join(work.dir, "pg-backup.db");
  const b = pkiJson<{ certificates: number }>(home, ["backup", file]);
  assert.equal(b.certificates, 2);
  const restored = join(work.dir, "restored");
  const r = pki(restored, ["restore", file]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(pki(restored, ["audit", "--verify"]).status, 0);
  assert.equal(openssl(["verify", "-CAfile", join(restored, "ca.pem"), join(restored, "certs", "carol.pem")]).status, 0);
});

test("a home is never pointed at another ledger: SQLite home with a database URL, or a second database, is refused and nothing changes", async () => {
  const { home, url } = await pgHome();
  const sqliteHome = join(work.dir, "sqlite-home");
  assert.equal(pki(sqliteHome, ["init-root", "--cn", "SQLite Root"]).status, 0);
  const before = snapshot(sqliteHome);
  const mixed = pki(sqliteHome, ["--json", "issue-client", "dave"], { PKI_DATABASE_URL: url });
  assert.equal(mixed.status, 2);
  assert.equal(JSON.parse(mixed.stdout).error.code, "LEDGER_MISMATCH");
  assert.deepEqual(snapshot(sqliteHome), before);

  const other = await cluster.createDatabase();
  const moved = pki(home, ["--json", "list"], { PKI_DATABASE_URL: other });
  assert.equal(moved.status, 2);
  assert.equal(JSON.parse(moved.stdout).error.code, "LEDGER_MISMATCH");
  assert.match(JSON.parse(moved.stdout).error.message, /pki_test_\d+.*not .*pki_test_\d+/);

  // A second CA in the same database is refused, and the new home is not left half-made.
  const second = join(work.dir, "second");
  const again = pki(second, ["--json", "init-root", "--cn", "Second"], { PKI_DATABASE_URL: url });
  assert.equal(again.status, 4, again.stdout);
  assert.match(JSON.parse(again.stdout).error.message, /already holds a CA/);
  assert.equal(existsSync(second), false);
});

test("a password never goes on the command line, and never into the home or a message", async () => {
  const url = await cluster.createDatabase();
  const withPassword = url.replace("pki@", "pki:s3cret-word@");
  const home = join(work.dir, "secret");
  const flag = pki(home, ["--json", "--database", withPassword, "init-root", "--cn", "X"]);
  assert.equal(flag.status, 2);
  assert.equal(JSON.parse(flag.stdout).error.code, "SECRET_IN_ARGUMENTS");
  assert.doesNotMatch(flag.stdout + flag.stderr, /s3cret-word/);
  assert.equal(existsSync(home), false);

  // From the environment it is used (trust auth ignores it here) but written nowhere.
  const ok = pki(home, ["init-root", "--cn", "X"], { PKI_DATABASE_URL: withPassword });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(readFileSync(join(home, "database"), "utf8"), `${url}\n`);
  assert.doesNotMatch(JSON.stringify(snapshot(home)) + ok.stdout + ok.stderr, /s3cret-word/);
});

test("two processes issuing, revoking and signing CRLs at once: distinct serials, gap-free increasing CRL numbers, one linear chain", async () => {
  const { home, url } = await pgHome();
  const worker = join(ROOT, "dist", "test", "workers", "authority-worker.js");
  const run = (prefix: string) =>
    new Promise<string[]>((resolve, reject) => {
      const child = spawn(process.execPath, [worker, home, prefix, "8"], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`worker ${prefix} exited ${code}: ${err}`))));
    });
  const serials = (await Promise.all([run("p0"), run("p1")])).flat();
  assert.equal(new Set(serials).size, 16);
  const events = await query<{ id: number; action: string; details: string }>(url, "SELECT id, action, details FROM events ORDER BY id");
  assert.deepEqual(events.map((e) => Number(e.id)), events.map((_, i) => i + 1), "event ids gap-free");
  const numbers = events.filter((e) => e.action === "crl-generated").map((e) => Number(JSON.parse(e.details).number));
  // init's CRL, one per revocation (3 per process) and one per process at the end, in event order.
  assert.deepEqual(numbers, Array.from({ length: 1 + 2 * 3 + 2 }, (_, i) => i + 1));
  const audit = pki(home, ["audit", "--verify"]);
  assert.equal(audit.status, 0, audit.stdout + audit.stderr);
});

test("PostgreSQL stopped: commands fail with LEDGER_UNAVAILABLE naming the database, change nothing; started again, the next command works", async () => {
  const { home } = await pgHome();
  const files = snapshot(home);
  cluster.stop();
  try {
    for (const args of [["list"], ["issue-client", "erin"]]) {
      const r = pki(home, ["--json", ...args]);
      assert.equal(r.status, 7, r.stdout + r.stderr);
      const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
      assert.equal(error.code, "LEDGER_UNAVAILABLE");
      assert.match(error.message, /the PostgreSQL ledger pki@\/tmp\/pki-pg-\w+:\d+\/pki_test_\d+ is unreachable/);
      assert.match(error.hint, /PostgreSQL is running/);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    assert.deepEqual(snapshot(home), files);
  } finally {
    cluster.start();
  }
  const erin = pkiJson<{ certificate: string }>(home, ["issue-client", "erin"]);
  assert.equal(openssl(["verify", "-CAfile", join(home, "ca.pem"), erin.certificate]).status, 0);
});

test("a SQLite home never loads the PostgreSQL driver", async () => {
  // A module hook that makes importing pg fail: a SQLite home must not notice it.
  const hook = join(work.dir, "no-pg-hook.mjs");
  writeFileSync(hook, `export async function resolve(specifier, context, next) {
  if (specifier === "pg") throw new Error("the pg driver was loaded");
  return next(specifier, context);
}\n`);
  const register = join(work.dir, "no-pg.mjs");
  writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(`file://${hook}`)});\n`);
  const home = join(work.dir, "sqlite-only");
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, ["--import", register, PKI_BIN, ...args], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE, ...env } });
  for (const args of [["init-root", "--cn", "Plain"], ["issue-client", "frank"], ["list"], ["crl"]]) {
    const r = cli(args);
    assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
  }
  // The hook does bite when a PostgreSQL URL is used.
  const url = await cluster.createDatabase();
  const r = cli(["init-root", "--cn", "Needs pg"], { PKI_HOME: join(work.dir, "pg-hooked"), PKI_DATABASE_URL: url });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /the pg driver was loaded/);
});

test("TLS to the database: sslmode=verify-full with a root made by pki works; a server the given root did not sign is refused", async () => {
  // The database server's certificate comes from a pki CA of its own (a SQLite home).
  const dbCa = join(work.dir, "db-ca");
  assert.equal(pki(dbCa, ["init-root", "--cn", "Database CA"]).status, 0);
  assert.equal(pki(dbCa, ["issue-server", "localhost"]).status, 0);
  const key = join(work.dir, "db-server.key");
  assert.equal(pki(dbCa, ["export-key", "localhost", "--unencrypted", "--out", key]).status, 0);
  const port = await freePort();
  const tlsCluster = startCluster({ tls: { port, certificate: join(dbCa, "certs", "localhost.pem"), key } });
  try {
    const db = new URL(await tlsCluster.createDatabase()).pathname.slice(1);
    const url = tlsCluster.tcpUrl(db, { sslmode: "verify-full", sslrootcert: join(dbCa, "ca.pem") });
    const home = join(work.dir, "over-tls");
    const init = pki(home, ["init-root", "--cn", "Over TLS"], { PKI_DATABASE_URL: url });
    assert.equal(init.status, 0, init.stderr);
    assert.equal(pkiJson<unknown[]>(home, ["list"]).length, 1);
    const sessions = await query<{ ssl: boolean }>(url, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    assert.deepEqual(sessions, [{ ssl: true }]);

    // The same server, trusted through another root: the connection is refused before any query.
    const strangerCa = join(work.dir, "stranger-ca");
    assert.equal(pki(strangerCa, ["init-root", "--cn", "Stranger CA"]).status, 0);
    const wrong = tlsCluster.tcpUrl(db, { sslmode: "verify-full", sslrootcert: join(strangerCa, "ca.pem") });
    const r = pki(home, ["--json", "list"], { PKI_DATABASE_URL: wrong });
    assert.equal(r.status, 7, r.stdout + r.stderr);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    assert.equal(error.code, "LEDGER_CANT_OPEN");
    assert.match(error.message, new RegExp(`TLS to the PostgreSQL ledger pki@localhost:${port}/${db} failed`));
  } finally {
    tlsCluster.remove();
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

test("a database that asks for a password: from PKI_DATABASE_URL or PGPASSWORD it works; missing or wrong, a clear error that never shows it", async () => {
  const password = "db-Passw0rd-xyz";
  const guarded = startCluster({ password });
  try {
    const url = await guarded.createDatabase();
    const withPassword = url.replace("pki@", `pki:${password}@`);
    const home = join(work.dir, "guarded");
    const init = pki(home, ["init-root", "--cn", "Guarded"], { PKI_DATABASE_URL: withPassword });
    assert.equal(init.status, 0, init.stderr);
    assert.doesNotMatch(readFileSync(join(home, "database"), "utf8"), new RegExp(password));

    // The home's database file has no password: PGPASSWORD (or ~/.pgpass) supplies it.
    assert.equal(pkiJson<unknown[]>(home, ["list"], { PGPASSWORD: password }).length, 1);
    const missing = pki(home, ["--json", "list"]);
    assert.equal(missing.status, 7, missing.stdout + missing.stderr);
    assert.equal(JSON.parse(missing.stdout).error.code, "PERMISSION_DENIED");
    assert.match(JSON.parse(missing.stdout).error.message, /asks for a password/);
    const wrong = pki(home, ["--json", "list"], { PKI_DATABASE_URL: url.replace("pki@", "pki:not-it@") });
    assert.equal(wrong.status, 7, wrong.stdout + wrong.stderr);
    assert.equal(JSON.parse(wrong.stdout).error.code, "PERMISSION_DENIED");
    assert.match(JSON.parse(wrong.stdout).error.message, /wrong password/);
    for (const r of [init, missing, wrong]) assert.doesNotMatch(r.stdout + r.stderr, /db-Passw0rd|not-it/);
  } finally {
    guarded.remove();
  }
});
