// PostgreSQL, Mosquitto, Redis, Caddy, lighttpd and OpenVPN configured by `pki server-config`,
// each started privately on a loopback port as the user Debian runs it as, reading the files the
// output's install steps put in place (run as printed). A valid client gets in, one from another
// CA does not, and a revoked one does not where the server checks CRLs; where it does not
// (Caddy, Redis), the test pins that down, as the output and the README say.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, closeSync, existsSync, openSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PASSPHRASE, PKI_BIN, pkiJson, tempDir } from "../helpers.js";
import { curl, type E2eCa, exec, freePort, makeCa, makeClient, serverConfig, startUpstream, waitForPort } from "./harness.js";

interface Client {
  cert: string;
  key: string;
}

const work = tempDir("pki-e2e-servers-");
let ca: E2eCa;
let alice: Client;
let eve: Client;
let mallory: Client;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
const children: ChildProcess[] = [];

before(async () => {
  // The servers run as their own users: they must be able to walk to their files.
  chmodSync(work.dir, 0o755);
  ca = makeCa(work.dir);
  alice = makeClient(ca, "alice");
  eve = makeClient(ca, "eve");
  pkiJson(ca.home, ["revoke", "eve", "--reason", "keyCompromise"]);
  const other = join(work.dir, "other-home");
  pkiJson(other, ["init-root", "--cn", "Other CA"]);
  pkiJson(other, ["issue-client", "mallory"]);
  pkiJson(other, ["export-key", "mallory", "--unencrypted", "--out", join(work.dir, "mallory.key")]);
  mallory = { cert: join(other, "certs", "mallory.pem"), key: join(work.dir, "mallory.key") };
  // The install steps call `pki`: this checkout's, through PATH.
  const bin = join(work.dir, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "pki"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(PKI_BIN)} "$@"\n`, { mode: 0o755 });
  upstream = await startUpstream();
});
after(async () => {
  for (const c of children) await stop(c);
  await upstream?.close();
  work.cleanup();
});

/** Runs the output's install commands (the `#   install|pki|chown` lines) as printed. */
async function install(config: string): Promise<void> {
  const steps = config.split("\n").filter((l) => /^# {3}(install |pki --home \S+ export-key |chown )/.test(l)).map((l) => l.slice(4));
  assert.ok(steps.length >= 3, config);
  const env = { PATH: `${join(work.dir, "bin")}:${process.env.PATH}`, PKI_PASSPHRASE: PASSPHRASE };
  for (const step of steps) {
    const r = await exec("/bin/sh", ["-c", step], env);
    assert.equal(r.code, 0, `${step}: ${r.stderr}`);
  }
}

/** `server-config TARGET` for a loopback port, its files in a fresh directory, installed. */
async function configure(target: string, port: number, extra: string[] = []): Promise<{ config: string; files: string }> {
  const files = join(work.dir, `${target}-files`);
  const config = serverConfig(ca, target, ["--listen", `127.0.0.1:${port}`, "--files-dir", files, ...extra]);
  await install(config);
  return { config, files };
}

/** Starts a server in the foreground; its output goes to `log` as it comes, for the refusal reasons. */
function start(cmd: string, args: string[], log: string, env?: NodeJS.ProcessEnv): ChildProcess {
  const fd = openSync(log, "w");
  const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], ...(env ? { env } : {}) });
  closeSync(fd);
  children.push(child);
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.on("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
}

/**
 * The TLS alert a server answers a client certificate with, as openssl s_client reports it. Over
 * TLS 1.2, where the alert ends the handshake: in 1.3 it comes after, and may miss an s_client
 * that has already hung up.
 */
async function alert(port: number, c: Client): Promise<string> {
  const r = await exec("/bin/sh", ["-c", `openssl s_client -tls1_2 -connect 127.0.0.1:${port} -CAfile "$CA" -cert "$CERT" -key "$KEY" < /dev/null 2>&1`], { PATH: process.env.PATH, CA: ca.ca, CERT: c.cert, KEY: c.key });
  return r.stdout;
}

function section(config: string, name: string): string {
  const from = config.indexOf(`# --- ${name} ---`);
  assert.ok(from >= 0, `no ${name} part in\n${config}`);
  const to = config.indexOf("# --- ", from + 1);
  return config.slice(from, to < 0 ? undefined : to);
}

describe("PostgreSQL from `pki server-config postgresql`", () => {
  let port: number;
  let pgBin: string;
  let data: string;
  let config: string;
  let files: string;
  before(async () => {
    const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
    pgBin = join("/usr/lib/postgresql", versions[0]!, "bin");
    port = await freePort();
    ({ config, files } = await configure("postgresql", port));
    assert.equal(readFileSync(join(files, "localhost.key")).length > 0, true);
    data = join(work.dir, "pgdata");
    const socket = join(work.dir, "pgsocket");
    for (const d of [data, socket]) mkdirSync(d, { mode: 0o700 });
    await exec("chown", ["postgres:postgres", data, socket]);
    const initdb = await exec("runuser", ["-u", "postgres", "--", join(pgBin, "initdb"), "--no-sync", "-A", "trust", "-U", "postgres", "-D", data]);
    assert.equal(initdb.code, 0, initdb.stderr);
    writeFileSync(join(data, "postgresql.conf"), `${readFileSync(join(data, "postgresql.conf"), "utf8")}\n${section(config, "postgresql.conf")}\nunix_socket_directories = '${socket}'\nfsync = off\n`);
    writeFileSync(join(data, "pg_hba.conf"), `local all all trust\n${section(config, "pg_hba.conf")}`);
    const started = await exec("runuser", ["-u", "postgres", "--", join(pgBin, "pg_ctl"), "-D", data, "-l", join(data, "postgresql.log"), "-w", "-t", "60", "start"]);
    assert.equal(started.code, 0, `${started.stderr}\n${existsSync(join(data, "postgresql.log")) ? readFileSync(join(data, "postgresql.log"), "utf8") : ""}`);
    const roles = await exec("runuser", ["-u", "postgres", "--", "psql", "-h", socket, "-p", String(port), "-U", "postgres", "-c", "CREATE ROLE alice LOGIN; CREATE ROLE eve LOGIN; CREATE ROLE mallory LOGIN; CREATE ROLE grace LOGIN;"]);
    assert.equal(roles.code, 0, roles.stderr);
  });
  after(async () => {
    if (data) await exec("runuser", ["-u", "postgres", "--", join(pgBin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]);
  });

  const psql = (user: string, c: Client) =>
    exec("psql", [`host=localhost port=${port} dbname=postgres user=${user} sslmode=verify-full sslrootcert=${ca.ca} sslcert=${c.cert} sslkey=${c.key}`, "-tAc", "SELECT current_user"], { PATH: process.env.PATH, HOME: work.dir });

  test("a valid client logs in as the role its CN names; another CA's and a revoked one are refused", async () => {
    const ok = await psql("alice", alice);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), "alice");
    const foreign = await psql("mallory", mallory);
    assert.notEqual(foreign.code, 0);
    assert.match(foreign.stderr, /unknown ca|certificate verify failed|SSL error/i);
    const revoked = await psql("eve", eve);
    assert.notEqual(revoked.code, 0);
    assert.match(revoked.stderr, /certificate revoked/i);
    const wrongRole = await psql("eve", alice);
    assert.notEqual(wrongRole.code, 0, "the cert method maps the CN to the role");
    assert.match(wrongRole.stderr, /certificate authentication failed for user "eve"/);
  });

  test("a revocation reaches it through the CRL copy the hook line makes, on reload", async () => {
    const grace = makeClient(ca, "grace");
    assert.equal((await psql("grace", grace)).code, 0);
    pkiJson(ca.home, ["revoke", "grace", "--reason", "affiliationChanged"]);
    // The hook's copy, then what `systemctl reload postgresql` does.
    const hook = /^# {3}pki --home \S+ hook set crl '(install [^']+) && systemctl reload postgresql'$/m.exec(config);
    assert.ok(hook, config);
    assert.equal((await exec("/bin/sh", ["-c", hook[1]!])).code, 0);
    const reload = await exec("runuser", ["-u", "postgres", "--", join(pgBin, "pg_ctl"), "-D", data, "reload"]);
    assert.equal(reload.code, 0, reload.stderr);
    // pg_ctl reload only signals: wait (bounded) until the server has re-read its files.
    let refused = "";
    for (let i = 0; i < 50 && !/certificate revoked/.test(refused); i++) {
      refused = (await psql("grace", grace)).stderr;
      if (!/certificate revoked/.test(refused)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(refused, /certificate revoked/);
  });

  test("re-exporting the key over the installed one keeps root:postgres 0640: PostgreSQL restarts with it and lets alice in", async () => {
    const key = join(files, "localhost.key");
    const owned = () => {
      const st = statSync(key);
      return `${st.uid}:${st.gid} ${(st.mode & 0o777).toString(8)}`;
    };
    const installed = owned();
    assert.match(installed, /^0:\d+ 640$/, "the install step gave it to root:postgres 0640");
    pkiJson(ca.home, ["export-key", "localhost", "--unencrypted", "--out", key]);
    assert.equal(owned(), installed);
    // A restart reads the key again (a reload that cannot read it would keep the old one).
    const restarted = await exec("runuser", ["-u", "postgres", "--", join(pgBin, "pg_ctl"), "-D", data, "-l", join(data, "postgresql.log"), "-w", "-t", "60", "restart"]);
    assert.equal(restarted.code, 0, `${restarted.stderr}\n${readFileSync(join(data, "postgresql.log"), "utf8").slice(-2000)}`);
    const ok = await psql("alice", alice);
    assert.equal(ok.code, 0, ok.stderr);
  });
});

describe("Mosquitto from `pki server-config mosquitto`", () => {
  let port: number;
  let config: string;
  let mosquitto: ChildProcess;
  before(async () => {
    port = await freePort();
    ({ config } = await configure("mosquitto", port));
    const conf = join(work.dir, "mosquitto.conf");
    writeFileSync(conf, `user mosquitto\npersistence false\nlog_dest stderr\n${config}`);
    mosquitto = start("mosquitto", ["-c", conf], join(work.dir, "mosquitto.log"));
    await waitForPort(port, "mosquitto", join(work.dir, "mosquitto.log"));
  });

  const publish = (c: Client) => exec("mosquitto_pub", ["-h", "localhost", "-p", String(port), "--cafile", ca.ca, "--cert", c.cert, "--key", c.key, "-t", "pki/test", "-m", "hello", "-q", "1"]);

  test("a valid client publishes; another CA's and a revoked one are refused", async () => {
    const ok = await publish(alice);
    assert.equal(ok.code, 0, ok.stderr);
    const foreign = await publish(mallory);
    assert.notEqual(foreign.code, 0);
    const revoked = await publish(eve);
    assert.notEqual(revoked.code, 0);
    assert.match(await alert(port, eve), /alert certificate revoked/, "refused for its revocation, not for anything else");
  });

  test("a revocation reaches it through the CRL copy the hook line makes, on reload (SIGHUP)", async () => {
    const heidi = makeClient(ca, "heidi");
    assert.equal((await publish(heidi)).code, 0);
    pkiJson(ca.home, ["revoke", "heidi", "--reason", "affiliationChanged"]);
    const hook = /^# {3}pki --home \S+ hook set crl '(install [^']+) && systemctl reload mosquitto'$/m.exec(config);
    assert.ok(hook, config);
    assert.equal((await exec("/bin/sh", ["-c", hook[1]!])).code, 0);
    const log = join(work.dir, "mosquitto.log");
    const reloads = () => readFileSync(log, "utf8").split("Reloading config").length;
    const before = reloads();
    mosquitto.kill("SIGHUP");
    for (let i = 0; i < 50 && reloads() === before; i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(await alert(port, heidi), /alert certificate revoked/);
  });
});

describe("Redis from `pki server-config redis`, which does not check CRLs", () => {
  let port: number;
  let config: string;
  before(async () => {
    port = await freePort();
    ({ config } = await configure("redis", port));
    const dir = join(work.dir, "redis-data");
    mkdirSync(dir);
    await exec("chown", ["redis:redis", dir]);
    const conf = join(work.dir, "redis.conf");
    writeFileSync(conf, `${config}\ndir ${dir}\nsave ""\nappendonly no\ndaemonize no\n`);
    chmodSync(conf, 0o644);
    start("runuser", ["-u", "redis", "--", "redis-server", conf], join(work.dir, "redis.log"));
    await waitForPort(port, "redis-server", join(work.dir, "redis.log"));
  });

  const ping = (c: Client) => exec("redis-cli", ["--tls", "--cacert", ca.ca, "--cert", c.cert, "--key", c.key, "-h", "127.0.0.1", "-p", String(port), "PING"]);

  test("a valid client gets PONG, another CA's is refused; a revoked one still gets in, as the output warns", async () => {
    const ok = await ping(alice);
    assert.equal(ok.stdout.trim(), "PONG", ok.stderr);
    const foreign = await ping(mallory);
    assert.notEqual(foreign.stdout.trim(), "PONG");
    assert.match(config, /REDIS DOES NOT CHECK REVOCATION/);
    assert.equal((await ping(eve)).stdout.trim(), "PONG", "if Redis learned CRLs, update the template and the README");
  });
});

describe("Caddy from `pki server-config caddy`, which does not check CRLs", () => {
  let port: number;
  let config: string;
  before(async () => {
    port = await freePort();
    ({ config } = await configure("caddy", port, ["--upstream", `http://127.0.0.1:${upstream.port}`]));
    const dir = join(work.dir, "caddy");
    mkdirSync(dir);
    await exec("chown", ["caddy:caddy", dir]);
    const conf = join(dir, "Caddyfile");
    writeFileSync(conf, `{\n\tadmin off\n\tauto_https off\n}\n${config}`);
    chmodSync(conf, 0o644);
    const env = { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
    start("runuser", ["-u", "caddy", "--", "caddy", "run", "--adapter", "caddyfile", "--config", conf], join(work.dir, "caddy.log"), env);
    await waitForPort(port, "caddy", join(work.dir, "caddy.log"));
  });

  test("a valid client is served with its identity; another CA's is refused; a revoked one still gets in, as the output warns", async () => {
    const ok = await curl(ca, port, ["--cert", alice.cert, "--key", alice.key]);
    assert.equal(ok.status, 200, ok.error);
    assert.match(ok.body, /subject=CN=alice/);
    assert.notEqual((await curl(ca, port, ["--cert", mallory.cert, "--key", mallory.key])).status, 200);
    assert.notEqual((await curl(ca, port)).status, 200, "no certificate, no entry");
    assert.match(config, /CADDY DOES NOT CHECK REVOCATION/);
    assert.equal((await curl(ca, port, ["--cert", eve.cert, "--key", eve.key])).status, 200, "if Caddy learned CRLs, update the template and the README");
  });
});

describe("lighttpd from `pki server-config lighttpd`", () => {
  let port: number;
  before(async () => {
    port = await freePort();
    const { config } = await configure("lighttpd", port, ["--upstream", `http://127.0.0.1:${upstream.port}`]);
    const dir = join(work.dir, "lighttpd");
    mkdirSync(dir);
    const conf = join(dir, "lighttpd.conf");
    const mainPort = await freePort();
    writeFileSync(conf, `server.document-root = "${dir}"\nserver.bind = "127.0.0.1"\nserver.port = ${mainPort}\nserver.username = "www-data"\nserver.groupname = "www-data"\nserver.errorlog = "${join(dir, "error.log")}"\n${config}`);
    chmodSync(dir, 0o777);
    const check = await exec("lighttpd", ["-tt", "-f", conf]);
    assert.equal(check.code, 0, check.stderr + check.stdout);
    start("lighttpd", ["-D", "-f", conf], join(work.dir, "lighttpd.log"));
    await waitForPort(port, "lighttpd", join(dir, "error.log"));
  });

  test("a valid client is served; another CA's and a revoked one are refused", async () => {
    const ok = await curl(ca, port, ["--cert", alice.cert, "--key", alice.key]);
    assert.equal(ok.status, 200, ok.error);
    assert.notEqual((await curl(ca, port, ["--cert", mallory.cert, "--key", mallory.key])).status, 200);
    assert.notEqual((await curl(ca, port)).status, 200, "no certificate, no entry");
    const revoked = await curl(ca, port, ["--cert", eve.cert, "--key", eve.key]);
    assert.notEqual(revoked.status, 200);
    assert.match(revoked.error, /alert certificate revoked/);
  });
});

describe("OpenVPN from `pki server-config openvpn`", () => {
  let port: number;
  let config: string;
  before(async () => {
    port = await freePort();
    ({ config } = await configure("openvpn", port));
    // As printed, over TCP so the port can be waited for; the tun device opens but the host's
    // addresses and routes are left alone.
    const conf = join(work.dir, "openvpn-server.conf");
    writeFileSync(conf, `${config.replace(/^proto udp$/m, "proto tcp-server")}ifconfig-noexec\nroute-noexec\nverb 3\n`);
    start("openvpn", ["--config", conf], join(work.dir, "openvpn.log"));
    await waitForPort(port, "openvpn", join(work.dir, "openvpn.log"));
  });

  /** Connects a client that checks the server's certificate as OpenVPN clients do (remote-cert-tls server); returns its log. */
  function connect(c: Client): Promise<string> {
    return new Promise((resolve) => {
      const args = ["--tls-client", "--dev", "null", "--proto", "tcp-client", "--remote", "127.0.0.1", String(port), "--nobind", "--ca", ca.ca, "--cert", c.cert, "--key", c.key, "--remote-cert-tls", "server", "--tls-exit", "--connect-retry-max", "1", "--hand-window", "30", "--verb", "3"];
      const child = spawn("openvpn", args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      const settle = () => {
        if (/Peer Connection Initiated|TLS Error|VERIFY ERROR|SIGTERM|Exiting/.test(out) && child.exitCode === null) child.kill("SIGTERM");
      };
      child.stdout.on("data", (d) => ((out += d), settle()));
      child.stderr.on("data", (d) => (out += d));
      child.on("exit", () => resolve(out));
    });
  }

  test("a valid client completes the handshake, its server certificate passing remote-cert-tls server; another CA's and a revoked one are refused", async () => {
    const ok = await connect(alice);
    assert.match(ok, /VERIFY KU OK[\s\S]*VERIFY EKU OK[\s\S]*Peer Connection Initiated/, ok);
    const foreign = await connect(mallory);
    assert.doesNotMatch(foreign, /Peer Connection Initiated/, foreign);
    const revoked = await connect(eve);
    assert.doesNotMatch(revoked, /Peer Connection Initiated/, revoked);
    assert.match(readFileSync(join(work.dir, "openvpn.log"), "utf8"), /VERIFY ERROR: depth=0, error=certificate revoked: CN=eve/);
  });

  test("the printed CRL hook delivers a revocation, which OpenVPN applies on the next connection without a reload", async () => {
    const frank = makeClient(ca, "frank");
    assert.match(await connect(frank), /Peer Connection Initiated/);
    const hook = config.split("\n").find((l) => /^# {3}pki --home \S+ hook set crl /.test(l))!.slice(4);
    const set = await exec("/bin/sh", ["-c", hook], { PATH: `${join(work.dir, "bin")}:${process.env.PATH}`, PKI_PASSPHRASE: PASSPHRASE });
    assert.equal(set.code, 0, set.stderr);
    try {
      pkiJson(ca.home, ["revoke", "frank", "--reason", "affiliationChanged"]);
      assert.doesNotMatch(await connect(frank), /Peer Connection Initiated/);
      assert.match(readFileSync(join(work.dir, "openvpn.log"), "utf8"), /VERIFY ERROR: depth=0, error=certificate revoked: CN=frank/);
    } finally {
      pkiJson(ca.home, ["hook", "clear", "crl"]);
    }
  });
});
