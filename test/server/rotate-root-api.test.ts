// A `pki serve --api` started before another process ran `pki rotate-root` holds the old root
// unlocked: its API refuses to sign (ROOT_ROTATED) rather than have the old root sign
// certificates that name the new root's URLs, and changes nothing; restarted, it signs with the new root.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, pkiJson, run, tempDir } from "../helpers.js";
import { type Served, startServe } from "./helpers.js";

const { home, cleanup } = initHome();
const scratch = tempDir("pki-rotate-api-");
const f = (n: string) => join(scratch.dir, n);
let served: Served | undefined;
after(async () => {
  await served?.stop();
  cleanup();
  scratch.cleanup();
});

function curl(body: unknown, path = "/v1/certificates"): { status: number; body: Record<string, any> } {
  writeFileSync(f("req.json"), JSON.stringify(body));
  writeFileSync(f("out.json"), "");
  const r = run("curl", [
    "-sS", "--cacert", join(home, "ca.pem"), "--cert", join(home, "certs", "ops.pem"), "--key", f("ops.key"), "-o", f("out.json"), "-w", "%{http_code}",
    "-X", "POST", "-H", "content-type: application/json", "--data-binary", `@${f("req.json")}`, `https://127.0.0.1:${served!.apiPort}${path}`,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const text = readFileSync(f("out.json"), "utf8");
  return { status: Number(r.stdout), body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

function newCsr(cn: string): string {
  const r = openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f(`${cn}.key`), "-out", f(`${cn}.csr`), "-subj", `/CN=${cn}`]);
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(f(`${cn}.csr`), "utf8");
}

test("rotate-root while pki serve --api runs: its API refuses to issue or renew with ROOT_ROTATED; restarted, it issues under the new root with the new root's URLs", async () => {
  pkiJson(home, ["config", "set", "url", "http://pki.test"]);
  pkiJson(home, ["issue-server", "localhost", "127.0.0.1"]);
  pkiJson(home, ["issue-client", "ops"]);
  pkiJson(home, ["export-key", "ops", "--unencrypted", "--out", f("ops.key")]);
  pkiJson(home, ["role", "set", "ops", "admin"]);
  served = await startServe(home, {}, ["--api", "127.0.0.1:0", "--api-cert", "localhost"]);
  assert.equal(curl({ name: "before", profile: "client", csr: newCsr("before") }).status, 201);

  pkiJson(home, ["rotate-root"]);
  const count = () => pkiJson<unknown[]>(home, ["list"]).length;
  const certificates = count();
  const requests: [unknown, string][] = [[{ name: "viacsr", profile: "client", csr: newCsr("viacsr") }, "/v1/certificates"], [{ name: "before", csr: newCsr("again") }, "/v1/renew"]];
  for (const [req, path] of requests) {
    const a = curl(req, path);
    assert.equal(a.status, 409, JSON.stringify(a.body));
    assert.equal(a.body.error?.code, "ROOT_ROTATED", JSON.stringify(a.body));
    assert.match(a.body.error?.message, /the root was rotated by another pki process since this one opened the CA; nothing was changed/);
  }
  assert.equal(count(), certificates, "nothing was issued");

  assert.equal(await served.stop(), 0);
  served = await startServe(home, {}, ["--api", "127.0.0.1:0", "--api-cert", "localhost"]);
  const a = curl({ name: "viacsr", profile: "client", csr: newCsr("viacsr") });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  writeFileSync(f("viacsr.pem"), a.body.pem);
  const text = openssl(["x509", "-in", f("viacsr.pem"), "-noout", "-text"]).stdout;
  assert.match(text, /Issuer: .*CN ?= ?Test Root CA G2/);
  assert.match(text, /URI:http:\/\/pki\.test\/crl-G2\.der/);
  const g2 = readFileSync(join(home, "ca.pem"), "utf8").split(/(?<=-----END CERTIFICATE-----\n)/)[0]!;
  writeFileSync(f("g2.pem"), g2);
  const verified = openssl(["verify", "-CAfile", f("g2.pem"), f("viacsr.pem")]);
  assert.equal(verified.status, 0, verified.stderr);
});
