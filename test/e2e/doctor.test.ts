import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PASSPHRASE, PKI_BIN, pki, pkiJson, tempDir } from "../helpers.js";
import { expiredClient } from "./expired.js";
import { type E2eCa, exec, makeCa, makeClient, type Running, startNginx, startUpstream } from "./harness.js";

interface Report {
  url: string;
  ok: boolean;
  protocol: string;
  checks: { id: string; section: string; status: string; message: string; fix?: string }[];
}

const work = tempDir("pki-e2e-doctor-");
let ca: E2eCa;
let other: { home: string; cert: string; key: string; ca: string };
let upstream: Awaited<ReturnType<typeof startUpstream>>;
const servers: Running[] = [];

before(async () => {
  ca = makeCa(work.dir);
  upstream = await startUpstream();
  makeClient(ca, "alice");
  makeClient(ca, "bob");
  makeClient(ca, "eve");
  pkiJson(ca.home, ["revoke", "eve", "--reason", "keyCompromise"]);
  const home = join(work.dir, "other-home");
  pkiJson(home, ["init-root", "--cn", "Other CA"]);
  pkiJson(home, ["issue-client", "mallory"]);
  pkiJson(home, ["export-key", "mallory", "--unencrypted", "--out", join(work.dir, "mallory.key")]);
  other = { home, cert: join(home, "certs", "mallory.pem"), key: join(work.dir, "mallory.key"), ca: join(home, "ca.pem") };
});
after(async () => {
  for (const s of servers) await s.stop();
  await upstream?.close();
  work.cleanup();
});

/** Runs pki doctor without blocking this process, whose upstream must keep answering nginx. */
async function doctor(url: string, args: string[]): Promise<{ code: number; report: Report; text: string }> {
  const env = { PATH: process.env.PATH, PKI_HOME: ca.home, PKI_PASSPHRASE: PASSPHRASE };
  const r = await exec(process.execPath, [PKI_BIN, "--json", "doctor", url, ...args], env);
  const text = (await exec(process.execPath, [PKI_BIN, "doctor", url, ...args], env)).stdout;
  return { code: r.code, report: JSON.parse(r.stdout) as Report, text };
}

function check(report: Report, id: string) {
  const c = report.checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id} in ${JSON.stringify(report.checks.map((x) => x.id))}`);
  return c;
}

for (const tls of ["TLSv1.2", "TLSv1.3"] as const) {
  const pin = (s: string) => s.replace(/ssl_protocols\s+[^;]+;/, `ssl_protocols ${tls};`);

  describe(`pki doctor against nginx over ${tls}`, () => {
    let on: Running;
    let off: Running;
    let noCa: Running;
    let wrongCa: Running;
    before(async () => {
      on = await startNginx(ca, `doctor-on-${tls}`, [], upstream.port, pin);
      off = await startNginx(ca, `doctor-off-${tls}`, [], upstream.port, (s) => pin(s).replace(/ssl_verify_client\s+on;/, "ssl_verify_client off;"));
      noCa = await startNginx(ca, `doctor-noca-${tls}`, [], upstream.port, (s) => pin(s).replace(/ssl_verify_client\s+on;/, "ssl_verify_client optional_no_ca;"));
      // The server trusts a different CA than the one that issued alice's certificate.
      wrongCa = await startNginx(ca, `doctor-wrongca-${tls}`, [], upstream.port, (s) => pin(s).replace(/ssl_client_certificate\s+\S+;/, `ssl_client_certificate ${other.ca};`).replace(/\s*ssl_crl\s+\S+;/, ""));
      servers.push(on, off, noCa, wrongCa);
    });
    const url = (r: Running) => `https://localhost:${r.port}/`;

    test("a working certificate: every check passes, exit 0, the accepted CA names are reported", async () => {
      const { code, report } = await doctor(url(on), ["--cert", "alice"]);
      assert.equal(code, 0, JSON.stringify(report.checks.filter((c) => c.status === "fail")));
      assert.equal(report.ok, true);
      assert.equal(report.protocol, tls);
      assert.match(check(report, "request.ca-names").message, /CN = E2E Root CA, O = pki tests|O = pki tests, CN = E2E Root CA/);
      assert.equal(check(report, "request.issuer-accepted").status, "pass");
      assert.equal(check(report, "http.with").status, "pass");
    });

    test("no certificate sent: 400 \"No required SSL certificate was sent\" is named, with the fix", async () => {
      const { code, report, text } = await doctor(url(on), []);
      assert.equal(code, 8);
      const c = check(report, "http.without");
      assert.equal(c.status, "fail");
      assert.match(c.message, /No required SSL certificate was sent.*496/);
      assert.match(c.fix!, /install the \.p12/);
      assert.match(text, /FAIL/);
    });

    test("a certificate from an untrusted CA: its issuer is not among the accepted names, and nginx refuses it", async () => {
      const { code, report } = await doctor(url(on), ["--cert", other.cert, "--key", other.key, "--ca", other.ca]);
      assert.equal(code, 8);
      assert.equal(check(report, "request.issuer-accepted").status, "fail");
      assert.match(check(report, "http.with").message, /The SSL certificate error.*(unable to get|unable to verify)/);
    });

    test("an expired certificate", async () => {
      const old = await expiredClient(ca.home, work.dir, `expired-${tls}`);
      const { code, report } = await doctor(url(on), ["--cert", old.cert, "--key", old.key]);
      assert.equal(code, 8);
      assert.equal(check(report, "client.expired").status, "fail");
      assert.match(check(report, "http.with").message, /certificate has expired/);
      assert.match(check(report, "http.with").fix!, /get a new certificate from the CA that issued it/, "a certificate this home's ledger does not hold has no name to renew");
    });

    test("a revoked certificate, refused through ssl_crl", async () => {
      const { code, report } = await doctor(url(on), ["--cert", "eve"]);
      assert.equal(code, 8);
      assert.match(check(report, "client.revoked").message, /revoked \(ledger and CRL/);
      assert.match(check(report, "http.with").message, /certificate revoked/);
    });

    test("a key that does not match the certificate", async () => {
      const { code, report } = await doctor(url(on), ["--cert", join(ca.home, "certs", "alice.pem"), "--key", join(ca.dir, "bob.key")]);
      assert.equal(code, 8);
      assert.equal(check(report, "client.key").status, "fail");
      assert.match(check(report, "client.key").message, /does not match/);
      assert.match(check(report, "http.with").message, /not attempted/);
    });

    test("a server that does not ask for a certificate (ssl_verify_client off)", async () => {
      const { code, report } = await doctor(url(off), ["--cert", "alice"]);
      assert.equal(code, 8);
      const c = check(report, "request.sent");
      assert.equal(c.status, "fail");
      assert.match(c.message, /does not ask for a client certificate/);
      assert.match(c.fix!, /ssl_verify_client on/);
    });

    test("a server that asks but does not insist (ssl_verify_client optional_no_ca): requests without a certificate get through", async () => {
      const { report } = await doctor(url(noCa), ["--cert", other.cert, "--key", other.key]);
      const c = check(report, "request.optional");
      assert.equal(c.status, "warn");
      assert.match(c.message, /serves requests without one \(nginx ssl_verify_client optional or optional_no_ca\)/);
      assert.equal(check(report, "http.with").status, "pass", "optional_no_ca lets even an unverifiable certificate through");
    });

    test("a server that trusts a different CA than the issuer (stale bundle after a CA change)", async () => {
      const { code, report } = await doctor(url(wrongCa), ["--cert", "alice"]);
      assert.equal(code, 8);
      assert.match(check(report, "request.ca-names").message, /CN = Other CA/);
      const c = check(report, "request.issuer-accepted");
      assert.equal(c.status, "fail");
      assert.match(c.fix!, /after a CA rotation/);
      assert.match(check(report, "http.with").message, /The SSL certificate error/);
    });
  });
}

describe("pki doctor: what it accepts and how it reports", () => {
  let on: Running;
  let noCa: Running;
  before(async () => {
    on = await startNginx(ca, "doctor-input", [], upstream.port);
    noCa = await startNginx(ca, "doctor-input-noca", [], upstream.port, (s) => s.replace(/ssl_verify_client\s+on;/, "ssl_verify_client optional_no_ca;"));
    servers.push(on, noCa);
  });
  const env = () => ({ PATH: process.env.PATH, PKI_HOME: ca.home, PKI_PASSPHRASE: PASSPHRASE });

  test("sections are printed once each, in the order of the checks, even when a later step adds to an earlier one", async () => {
    const { report, text } = await doctor(`https://localhost:${noCa.port}/`, ["--cert", other.cert, "--key", other.key]);
    assert.equal(check(report, "request.optional").status, "warn", "the check that used to come after section 4");
    const headings = text.split("\n").filter((l) => /^\d\. /.test(l)).map((l) => l.slice(0, 2));
    assert.deepEqual(headings, ["1.", "2.", "3.", "4."], text);
    assert.deepEqual([...new Set(report.checks.map((c) => c.section))], ["server", "request", "client", "http"]);
  });

  test("an IP-address URL: no SNI is sent, so Node prints no DeprecationWarning, and the IP SAN is checked", async () => {
    const r = await exec(process.execPath, [PKI_BIN, "--json", "doctor", `https://127.0.0.1:${on.port}/`, "--cert", "alice"], env());
    assert.equal(r.code, 0, r.stdout);
    assert.doesNotMatch(r.stderr, /DeprecationWarning|ServerName/);
    assert.equal(r.stderr, "");
    assert.equal(check(JSON.parse(r.stdout) as Report, "server.certificate").status, "pass");
  });

  test("a host name the server certificate does not hold is reported as a name mismatch; --resolve connects as curl does", async () => {
    const url = `https://wrong.example:${on.port}/`;
    const { code, report } = await doctor(url, ["--resolve", `wrong.example:${on.port}:127.0.0.1`, "--cert", "alice"]);
    assert.equal(code, 0, "the client certificate still gets in: the name is the server's problem, a warning");
    const c = check(report, "server.name");
    assert.equal(c.status, "warn");
    assert.match(c.message, /does not name wrong\.example \(it names DNS:localhost, IP Address:127\.0\.0\.1\)/);
    assert.match(c.fix!, /pki issue-server wrong\.example/);
    assert.ok(!report.checks.some((x) => /give them the CA/.test(x.fix ?? "")), "the CA is trusted: only the name is wrong");
    assert.match(check(report, "server.reachable").message, /wrong\.example:\d+ \(at 127\.0\.0\.1\) answers/);
  });

  test("--resolve that is malformed or names another host:port is a usage error", async () => {
    for (const [arg, expected] of [
      ["localhost:443", /--resolve "localhost:443" is not HOST:PORT:ADDRESS/],
      [`localhost:${on.port}:not-an-ip`, /is not HOST:PORT:ADDRESS/],
      [`other.example:${on.port}:127.0.0.1`, new RegExp(`does not match the URL's localhost:${on.port}`)],
    ] as const) {
      const r = await exec(process.execPath, [PKI_BIN, "doctor", `https://localhost:${on.port}/`, "--resolve", arg], env());
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, expected);
    }
  });

  test("HOST:PORT without a scheme is taken as https://HOST:PORT/; http:// is answered with the https:// URL to use", async () => {
    const { code, report } = await doctor(`localhost:${on.port}`, ["--cert", "alice"]);
    assert.equal(code, 0, JSON.stringify(report.checks.filter((c) => c.status === "fail")));
    assert.equal(report.url, `https://localhost:${on.port}/`);
    const http = await exec(process.execPath, [PKI_BIN, "doctor", `http://localhost:${on.port}/`], env());
    assert.equal(http.code, 2);
    assert.match(http.stderr, new RegExp(`not an https:// URL.*; use https://localhost:${on.port}/`));
  });

  test("hints name the real certificate, shell-quoted", async () => {
    makeClient(ca, "eve smith");
    pkiJson(ca.home, ["revoke", "eve smith", "--reason", "affiliationChanged"]);
    const { report } = await doctor(`https://localhost:${on.port}/`, ["--cert", "eve smith"]);
    assert.match(check(report, "client.revoked").fix!, /pki renew 'eve smith' if the person should still get in/);
    assert.ok(!JSON.stringify(report).includes("NAME"), JSON.stringify(report));
    const byFile = await doctor(`https://localhost:${on.port}/`, ["--cert", join(ca.home, "certs", "eve smith.pem"), "--key", join(ca.dir, "eve smith.key")]);
    assert.match(check(byFile.report, "client.revoked").fix!, /pki renew 'eve smith'/, "a file this home issued is found by serial");
  });
});

test("doctor on a port where nothing listens says so, exit 8", async () => {
  const { freePort } = await import("./harness.js");
  const port = await freePort();
  const r = pki(ca.home, ["--json", "doctor", `https://127.0.0.1:${port}/`]);
  assert.equal(r.status, 8);
  assert.match(JSON.parse(r.stdout).checks[0].message, /cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
});

describe("pki doctor against HAProxy, which refuses with TLS alerts instead of HTTP pages", () => {
  let haproxy: Running;
  before(async () => {
    const { startHaproxy } = await import("./harness.js");
    haproxy = await startHaproxy(ca, "doctor", [], upstream.port);
    servers.push(haproxy);
  });

  test("no certificate: the certificate_required alert is named", async () => {
    const { code, report } = await doctor(`https://localhost:${haproxy.port}/`, []);
    assert.equal(code, 8);
    assert.match(check(report, "http.without").message, /certificate_required: the server requires a client certificate and none was sent/);
  });

  test("revoked and expired certificates: the certificate_revoked / certificate_expired alerts are named", async () => {
    const revoked = await doctor(`https://localhost:${haproxy.port}/`, ["--cert", "eve"]);
    assert.match(check(revoked.report, "http.with").message, /certificate_revoked/);
    const old = await expiredClient(ca.home, work.dir, "expired-haproxy");
    const expired = await doctor(`https://localhost:${haproxy.port}/`, ["--cert", old.cert, "--key", old.key]);
    assert.match(check(expired.report, "http.with").message, /certificate_expired/);
    const ok = await doctor(`https://localhost:${haproxy.port}/`, ["--cert", "alice"]);
    assert.equal(ok.code, 0, JSON.stringify(ok.report.checks.filter((c) => c.status === "fail")));
  });
});
