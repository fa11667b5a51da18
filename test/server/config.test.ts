// pki config: settings kept in the ledger, and what server-config makes of them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { initHome, pki } from "../helpers.js";

test("config: settings are validated, listed with defaults, recorded in the audit log", () => {
  const { home, cleanup } = initHome();
  try {
    const list = JSON.parse(pki(home, ["--json", "config", "list"]).stdout) as { key: string; value: string | null; isDefault: boolean }[];
    assert.deepEqual(list.find((s) => s.key === "crl-lifetime"), { key: "crl-lifetime", value: "30d", isDefault: true });
    for (const [key, value, why] of [["crl-lifetime", "30s", /between 1m and 3650d/], ["crl-lifetime", "soon", /not a duration/], ["url", "https://ca.example", /plain http/], ["colour", "blue", /unknown setting/]] as const) {
      const r = pki(home, ["config", "set", key, value]);
      assert.equal(r.status, 2, `${key}=${value}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
    assert.equal(pki(home, ["config", "set", "url", "http://ca.example:8080/"]).stdout.trim(), "url = http://ca.example:8080");
    assert.equal(pki(home, ["config", "set", "crl-lifetime", "168h"]).stdout.trim(), "crl-lifetime = 7d");
    assert.equal(pki(home, ["config", "get", "crl-lifetime"]).stdout.trim(), "7d");
    assert.equal(pki(home, ["config", "unset", "crl-lifetime"]).stdout.trim(), "crl-lifetime = 30d (default)");
    const audit = JSON.parse(pki(home, ["--json", "audit"]).stdout) as { action: string; details: { key: string; value: string | null } }[];
    assert.deepEqual(audit.filter((e) => e.action === "config-set").map((e) => [e.details.key, e.details.value]), [["url", "http://ca.example:8080"], ["crl-lifetime", "7d"], ["crl-lifetime", null]]);
    assert.equal(pki(home, ["audit", "--verify"]).status, 0);
  } finally {
    cleanup();
  }
});

test("server-config --ocsp: nginx and Apache lines from the url setting; refused without it or for other servers", () => {
  const { home, cleanup } = initHome();
  try {
    assert.equal(pki(home, ["issue-server", "web.internal"]).status, 0);
    const none = pki(home, ["server-config", "nginx", "--ocsp"]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--ocsp needs the URL where pki serve answers; set it with: pki config set url/);
    pki(home, ["config", "set", "url", "http://ca.internal:8080"]);
    const nginx = pki(home, ["server-config", "nginx", "--ocsp"]).stdout;
    assert.match(nginx, /^\s*ssl_ocsp\s+leaf;$/m);
    assert.match(nginx, /^\s*ssl_ocsp_responder http:\/\/ca\.internal:8080\/ocsp;$/m);
    assert.match(nginx, /^\s*ssl_ocsp_cache\s+shared:pki_ocsp:1m;$/m);
    assert.match(nginx, /needs a `resolver`/);
    assert.doesNotMatch(pki(home, ["server-config", "nginx"]).stdout, /ssl_ocsp/, "only when asked");
    const apache = pki(home, ["server-config", "apache", "--ocsp"]).stdout;
    assert.match(apache, /^\s*SSLOCSPEnable\s+leaf$/m);
    assert.match(apache, /^\s*SSLOCSPDefaultResponder\s+http:\/\/ca\.internal:8080\/ocsp$/m);
    const pg = pki(home, ["server-config", "postgresql", "--ocsp"]);
    assert.equal(pg.status, 2);
    assert.match(pg.stderr, /--ocsp is for nginx and apache/);
  } finally {
    cleanup();
  }
});
