import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pkiJson, tempDir } from "../helpers.js";
import { expiredClient } from "./expired.js";
import { curl, type E2eCa, makeCa, makeClient, type Running, startApache, startHaproxy, startUpstream } from "./harness.js";

// Apache and HAProxy refuse during the TLS handshake rather than with an HTTP page: curl sees
// a TLS alert (TLS 1.3: "certificate required"; a bad certificate: "unknown ca", "certificate
// revoked", "certificate expired") and exits non-zero with no HTTP status.
const work = tempDir("pki-e2e-apache-haproxy-");
let ca: E2eCa;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
const servers: Running[] = [];
let alice: { cert: string; key: string };
let revoked: { cert: string; key: string };
let expired: { cert: string; key: string };

before(async () => {
  ca = makeCa(work.dir);
  upstream = await startUpstream();
  alice = makeClient(ca, "alice");
  revoked = makeClient(ca, "eve");
  pkiJson(ca.home, ["revoke", "eve", "--reason", "keyCompromise"]);
  expired = await expiredClient(ca.home, ca.dir, "old-timer");
});
after(async () => {
  for (const s of servers) await s.stop();
  await upstream?.close();
  work.cleanup();
});

for (const [name, start] of [
  ["apache", startApache],
  ["haproxy", startHaproxy],
] as const) {
  describe(`${name} from \`pki server-config ${name}\``, () => {
    let required: Running;
    let optional: Running;
    before(async () => {
      required = await start(ca, "required", [], upstream.port);
      optional = await start(ca, "optional", ["--verify", "optional"], upstream.port);
      servers.push(required, optional);
    });

    test("no client certificate → refused in the handshake", async () => {
      const r = await curl(ca, required.port);
      assert.equal(r.status, 0, r.body);
      assert.notEqual(r.exit, 0);
      assert.match(r.error, /tlsv13 alert certificate required/);
    });

    test("alice → 200, the upstream sees her subject", async () => {
      const r = await curl(ca, required.port, ["--cert", alice.cert, "--key", alice.key]);
      assert.equal(r.status, 200, r.error);
      assert.match(r.body, /subject=.*CN=alice/);
      assert.match(r.body, name === "apache" ? /verify=SUCCESS/ : /verify=0\n/);
    });

    test("a revoked certificate → refused because of the CRL", async () => {
      const r = await curl(ca, required.port, ["--cert", revoked.cert, "--key", revoked.key]);
      assert.notEqual(r.status, 200);
      assert.match(r.error, /alert certificate revoked/);
    });

    test("an expired certificate → refused", async () => {
      const r = await curl(ca, required.port, ["--cert", expired.cert, "--key", expired.key]);
      assert.notEqual(r.status, 200);
      assert.match(r.error, /alert certificate expired/);
    });

    test("--verify optional: served without a certificate", async () => {
      const r = await curl(ca, optional.port);
      assert.equal(r.status, 200, r.error);
      assert.match(r.body, name === "apache" ? /verify=NONE/ : /subject=\n/);
    });
  });
}
