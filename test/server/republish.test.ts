// The CRL never lapses: the service republishes when a third of the CRL's lifetime remains,
// with the crl-lifetime setting, checked in-process with a moved clock.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { Authority } from "../../src/ca/authority.js";
import { Home } from "../../src/ca/home.js";
import type { CrlResult } from "../../src/ca/revocation.js";
import { startServer } from "../../src/server/serve.js";
import { initHome, openssl, PASSPHRASE, pki, ROOT } from "../helpers.js";

const DAY = 86_400_000;

test("republishes before nextUpdate with the configured lifetime, once, and reports it", async () => {
  const { home, cleanup } = initHome();
  try {
    assert.equal(pki(home, ["config", "set", "crl-lifetime", "7d"]).status, 0);
    let now = new Date();
    const authority = Authority.open({ home: new Home(home), templatesDir: join(ROOT, "templates"), actor: "test", passphrase: async () => PASSPHRASE, now: () => now });
    const service = await authority.serve();
    const published: CrlResult[] = [];
    const lines: string[] = [];
    // The init-root CRL lives 30 days: fresh now, due once less than 10 days remain.
    const server = await startServer({ service, socketPath: join(home, "serve.sock"), log: (l) => lines.push(l), now: () => now, rssBytes: () => 0, onCrlPublished: (c) => void published.push(c) });
    assert.equal(published.length, 0, "a fresh CRL is left alone");
    await server.close();

    now = new Date(now.getTime() + 21 * DAY);
    const again = await startServer({ service, socketPath: join(home, "serve.sock"), log: (l) => lines.push(l), now: () => now, rssBytes: () => 0, onCrlPublished: (c) => void published.push(c) });
    await again.close();
    assert.equal(published.length, 1);
    assert.equal(published[0]!.number, 2);
    assert.equal(Date.parse(published[0]!.nextUpdate) - now.getTime(), 7 * DAY, "the crl-lifetime setting, not the 30-day default");
    assert.match(lines.join("\n"), /crl published number=2/);
    assert.equal(await service.republishCrlIfDue(now), null, "fresh again: nothing to do");
    // The file servers read is the new CRL, signed by the root.
    const crl = openssl(["crl", "-in", join(home, "crl.pem"), "-noout", "-crlnumber", "-CAfile", join(home, "ca.pem")]);
    assert.match(crl.stdout + crl.stderr, /crlNumber=0x02/);
    assert.match(crl.stdout + crl.stderr, /verify OK/);

    // A lapsed CRL (the service was down too long) is replaced at once.
    now = new Date(now.getTime() + 30 * DAY);
    assert.equal((await service.republishCrlIfDue(now))?.number, 3);
    authority.close();
  } finally {
    cleanup();
  }
});

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
