import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { PASSPHRASE, pki, pkiJson, run, snapshot, tempDir } from "../helpers.js";

// A home whose path has a space and a systemd specifier / cron newline character in it.
const work = tempDir();
after(work.cleanup);
const home = join(work.dir, "my pki %h");
pkiJson(home, ["init-root", "--cn", "Escaping Root"]);
pkiJson(home, ["issue-server", "web.internal"]);
pki(home, ["server-config", "nginx"]); // SQLite makes its -wal and -shm files on the first open

const injections: [string, string[]][] = [
  ["--upstream", ["nginx", "--upstream", "http://127.0.0.1:8080;\n    include evil.conf"]],
  ["--upstream", ["haproxy", "--upstream", "http://a b:80"]],
  ["--key-file", ["nginx", "--key-file", "/etc/ssl/k.key\";\n    include /tmp/evil.conf;#"]],
  ["--key-file", ["apache", "--key-file", "/etc/ssl/$k.key"]],
  ["--server-name", ["nginx", "--server-name", "x.example;\n    include /tmp/evil.conf"]],
  ["--server-name", ["apache", "--server-name", "x.example y.example"]],
  ["--files-dir", ["postgresql", "--files-dir", "/etc/pg\nssl_ca_file = '/tmp/evil'"]],
  ["--timer-passphrase-file", ["cron", "--timer-passphrase-file", "/p\n* * * * * root touch /tmp/evil"]],
  ["--timer-passphrase-file", ["systemd-service", "--timer-passphrase-file", "/p\nExecStartPre=/bin/touch /tmp/evil"]],
];

for (const [flag, args] of injections) {
  test(`server-config ${args[0]} refuses a ${flag} that would inject configuration: ${JSON.stringify(args.at(-1))}`, () => {
    const before = snapshot(home);
    const r = pki(home, ["--json", "server-config", ...args]);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    const error = JSON.parse(r.stdout).error as { code: string; message: string };
    assert.equal(error.code, flag === "--upstream" ? "USAGE" : "UNSAFE_CONFIG_VALUE", error.message);
    assert.ok(error.message.startsWith(flag) || error.message.includes(flag), error.message);
    assert.deepEqual(Object.keys(JSON.parse(r.stdout)), ["error"], "no configuration is printed");
    assert.equal(r.stderr.split("\n").filter(Boolean).length, 1, "one line on stderr, the input's newline made visible");
    assert.deepEqual(snapshot(home), before);
  });
}

test("cron: the job runs as cron would run it (% as newline unless escaped) from a home path with a space and %", () => {
  const secrets = join(work.dir, "secret %dir");
  mkdirSync(secrets, { mode: 0o700 });
  const passphraseFile = join(secrets, "pass phrase");
  writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  chmodSync(passphraseFile, 0o600);
  const line = pki(home, ["server-config", "cron", "--timer-passphrase-file", passphraseFile]).stdout.split("\n").find((l) => /^\d/.test(l))!;
  const command = line.split(/ +/).slice(6).join(" ");
  // cron(8): an unescaped % ends the command (the rest is its stdin); \% is a literal %.
  const end = command.search(/(?<!\\)%/);
  const shell = (end === -1 ? command : command.slice(0, end)).replace(/\\%/g, "%");
  assert.equal(end, -1, `an unescaped % would cut the command: ${command}`);
  const before = pkiJson<{ number: number }[]>(home, ["audit"]).length;
  const r = run("/bin/sh", ["-c", shell], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  assert.equal(r.status, 0, `${shell}\n${r.stderr}`);
  assert.equal(pkiJson<unknown[]>(home, ["audit"]).length, before + 1, "the job signed a CRL in the home with the space and %");
});

test("systemd: the units for a home with a space and % pass systemd-analyze verify without a warning", { skip: run("sh", ["-c", "command -v systemd-analyze"]).status === 0 ? false : "systemd-analyze is not installed" }, () => {
  const units = join(work.dir, "units");
  mkdirSync(units);
  for (const [target, file] of [["systemd-service", "pki-crl.service"], ["systemd-serve", "pki-serve.service"]] as const) {
    const text = pki(home, ["server-config", target, "--timer-passphrase-file", join(work.dir, "secret %dir", "pass phrase")]).stdout;
    writeFileSync(join(units, file), text);
    const r = run("systemd-analyze", ["verify", join(units, file)]);
    assert.equal(r.stderr.trim(), "", `${target}: ${r.stderr}`);
    assert.match(text, /%%h/);
  }
});
