// Which command lines the fast path sends to `pki serve`, decided from argv alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { scanArgv, servedCommand, servedEnv } from "../../src/cli/fast-argv.js";

test("the command and --home are found wherever commander accepts them", () => {
  assert.deepEqual(scanArgv(["--home", "/x", "show", "alice"]).command, "show");
  assert.equal(scanArgv(["--home", "/x", "show", "alice"]).home, "/x");
  assert.equal(scanArgv(["show", "alice", "--home=rel/dir"]).home, "rel/dir");
  assert.equal(scanArgv(["--json", "config", "list"]).command, "config list");
  assert.equal(scanArgv(["config"]).command, "config");
  assert.equal(scanArgv(["--passphrase-file", "pw", "list"]).command, "list");
  assert.equal(scanArgv([]).command, null);
  // After "--" nothing is an option.
  assert.equal(scanArgv(["show", "--", "--home", "x"]).home, undefined);
});

test("served: the listed commands, not the others, not help, version, another ledger or an explicit passphrase file", () => {
  for (const argv of [["issue-client", "a"], ["issue-server", "h"], ["show", "a"], ["list"], ["revoke", "a"], ["unrevoke", "a"], ["renew", "a"], ["crl"], ["export-cert", "a"], ["export-p12", "a"], ["config", "list"], ["config", "get", "url"]]) {
    assert.equal(servedCommand(argv, {}, false), argv[0] === "config" ? `config ${argv[1]}` : argv[0], argv.join(" "));
  }
  for (const argv of [["serve"], ["init-root", "--cn", "x"], ["restore", "f"], ["backup", "f"], ["trust", "install"], ["passphrase", "change"], ["check"], ["audit"], ["export-key", "a"], ["role", "list"], ["role", "set", "a", "admin"], ["hook", "show"], ["hook", "set", "true"], ["config", "set", "url", "http://x"], ["config", "unset", "url"], ["server-config", "nginx"], ["config"], ["help", "show"]]) {
    assert.equal(servedCommand(argv, {}, false), null, argv.join(" "));
  }
  for (const flag of ["--help", "-h", "--version", "-V", "--database", "--passphrase-file"]) assert.equal(servedCommand(["show", "a", flag, "v"], {}, false), null, flag);
});

test("on a terminal, commands that would ask something run directly", () => {
  assert.equal(servedCommand(["revoke", "a"], {}, true), null);
  assert.equal(servedCommand(["revoke", "a", "--yes"], {}, true), "revoke");
  assert.equal(servedCommand(["revoke", "a", "-y"], {}, true), "revoke");
  assert.equal(servedCommand(["export-p12", "a"], {}, true), null);
  assert.equal(servedCommand(["export-p12", "a"], { PKI_P12_PASSWORD: "p" }, true), "export-p12");
  assert.equal(servedCommand(["export-p12", "a", "--password-file", "f"], {}, true), "export-p12");
  assert.equal(servedCommand(["issue-client", "a", "--p12"], {}, true), null);
  assert.equal(servedCommand(["issue-client", "a"], {}, true), "issue-client");
  // Without a terminal nothing is asked: served as is.
  assert.equal(servedCommand(["revoke", "a"], {}, false), "revoke");
});

test("the environment sent: what commands read, never the CA passphrase", () => {
  const sent = servedEnv({ PKI_HOME: "/h", PKI_P12_PASSWORD: "p", PKI_PASSPHRASE: "secret", PKI_PASSPHRASE_FILE: "/f", NO_COLOR: "1", TERM: "xterm", PATH: "/bin", HOME: "/root", AWS_SECRET_ACCESS_KEY: "k", CI: "1" });
  assert.deepEqual(sent, { PKI_HOME: "/h", PKI_P12_PASSWORD: "p", NO_COLOR: "1", TERM: "xterm", PATH: "/bin", CI: "1" });
});
