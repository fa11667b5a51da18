// `pki serve --api`: the mTLS JSON API driven by curl with real client certificates, its roles,
// its refusals (no, foreign, superseded, revoked certificates; 100+ malformed requests), and a
// SIGTERM in the middle of a stream of issuances that loses nothing.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import Database from "better-sqlite3";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { expiredClient, unrecordedClient } from "../e2e/expired.js";
import { initHome, openssl, pki, pkiJson, run, snapshot, tempDir } from "../helpers.js";
import { http, type Served, startServe } from "./helpers.js";

interface Identity {
  cert: string;
  key: string;
}
interface ApiAnswer {
  status: number;
  body: Record<string, any>;
}
interface View {
  name: string;
  serial: string;
  status: string;
}

let home: string;
let cleanup: () => void;
let served: Served;
const scratch = tempDir("pki-api-");
const f = (n: string) => join(scratch.dir, n);
let admin: Identity;
let holder: Identity;

/** A key and a CSR made by openssl; the CA never sees the key. */
function csr(file: string, cn = file): { key: string; csr: string } {
  const key = f(`${file}.key`);
  const r = openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", f(`${file}.csr`), "-subj", `/CN=${cn}`]);
  assert.equal(r.status, 0, r.stderr);
  return { key, csr: readFileSync(f(`${file}.csr`), "utf8") };
}

/** One API request with curl, the client certificate `as` (none when absent). */
function curl(path: string, options: { as?: Identity; method?: string; json?: unknown; file?: string } = {}): ApiAnswer {
  const out = f("curl-body");
  writeFileSync(out, "");
  const args = ["-sS", "--cacert", join(home, "ca.pem"), "-o", out, "-w", "%{http_code}"];
  if (options.as) args.push("--cert", options.as.cert, "--key", options.as.key);
  if (options.method) args.push("-X", options.method);
  if (options.json !== undefined) {
    writeFileSync(f("curl-req.json"), JSON.stringify(options.json));
    args.push("-H", "content-type: application/json", "--data-binary", `@${f("curl-req.json")}`);
  }
  if (options.file) args.push("-H", "content-type: application/json", "--data-binary", `@${options.file}`);
  const r = run("curl", [...args, `https://127.0.0.1:${served.apiPort}${path}`]);
  assert.equal(r.status, 0, `curl failed: ${r.stderr}`);
  const text = readFileSync(out, "utf8");
  return { status: Number(r.stdout), body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

function assertRefused(a: ApiAnswer, status: number, code: string): void {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.equal(a.body.error?.code, code, JSON.stringify(a.body));
  assert.equal(typeof a.body.error?.message, "string");
}

type Event = { actor: string; action: string; serial: string };
const lastEvent = () => pkiJson<Event[]>(home, ["audit"]).at(-1)!;
const pick = ({ actor, action, serial }: Event) => ({ actor, action, serial });

before(async () => {
  ({ home, cleanup } = initHome());
  pkiJson(home, ["issue-server", "localhost", "127.0.0.1"]);
  pkiJson(home, ["issue-client", "ops"]);
  pkiJson(home, ["export-key", "ops", "--unencrypted", "--out", f("ops.key")]);
  pkiJson(home, ["role", "set", "ops", "admin"]);
  admin = { cert: join(home, "certs", "ops.pem"), key: f("ops.key") };
  served = await startServe(home, {}, ["--api", "127.0.0.1:0", "--api-cert", "LocalHost"]); // names compare ignoring case
  assert.ok(served.apiPort);
});
after(async () => {
  await served?.stop();
  cleanup();
  scratch.cleanup();
});

test("--api-cert must name a current server certificate whose key the ledger holds", () => {
  pkiJson(home, ["issue-server", "old.internal"]);
  pkiJson(home, ["revoke", "old.internal"]);
  for (const [name, exit, code] of [["nobody", 3, "NOT_FOUND"], ["ops", 6, "API_CERT_UNUSABLE"], ["old.internal", 6, "API_CERT_UNUSABLE"]] as const) {
    const r = pki(home, ["--json", "serve", "--api", "127.0.0.1:0", "--api-cert", name]);
    assert.equal(r.status, exit, r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, code);
  }
  const alone = pki(home, ["serve", "--api", "127.0.0.1:0"]);
  assert.equal(alone.status, 2);
  assert.match(alone.stderr, /--api needs --api-cert NAME/);
});

test("pki role: set, list, none; role changes are audited events", () => {
  assert.deepEqual(pkiJson(home, ["role", "list"]), [{ name: "ops", role: "admin" }]);
  pkiJson(home, ["issue-client", "temp-admin"]);
  assert.deepEqual(pkiJson(home, ["role", "set", "TEMP-admin", "admin"]), { name: "temp-admin", role: "admin", previous: "none" });
  assert.equal(lastEvent().action, "role-set");
  assert.deepEqual(pkiJson(home, ["role", "set", "temp-admin", "none"]), { name: "temp-admin", role: "none", previous: "admin" });
  const unknown = pki(home, ["--json", "role", "set", "nobody", "admin"]);
  assert.equal(unknown.status, 3);
  assert.equal(JSON.parse(unknown.stdout).error.code, "NOT_FOUND");
  const bad = pki(home, ["--json", "role", "set", "ops", "root"]);
  assert.equal(bad.status, 2);
  assert.equal(JSON.parse(bad.stdout).error.code, "UNKNOWN_ROLE");
  assert.deepEqual(pkiJson(home, ["role", "list"]), [{ name: "ops", role: "admin" }]);
});

test("audit --verify finds a role written into the ledger without its event, and one taken out; changes are refused until it is undone", () => {
  assert.equal(pki(home, ["audit", "--verify"]).status, 0);
  const tamper = (sql: string) => {
    const db = new Database(join(home, "ledger.db"));
    db.exec(sql);
    db.close();
  };
  tamper("INSERT INTO roles (name_key, name, role) VALUES ('temp-admin', 'temp-admin', 'admin')");
  const added = pki(home, ["audit", "--verify"]);
  assert.equal(added.status, 8);
  assert.match(added.stdout + added.stderr, /"temp-admin" has the role admin with no role-set event granting it/);
  tamper("DELETE FROM roles");
  const removed = pki(home, ["audit", "--verify"]);
  assert.equal(removed.status, 8);
  assert.match(removed.stdout + removed.stderr, /a role-set event gave "ops" the role admin, which the ledger no longer holds/);
  // The anchor vouches for the roles: no change is made on a ledger whose roles were edited behind pki's back.
  const refused = pki(home, ["--json", "role", "set", "ops", "admin"]);
  assert.equal(refused.status, 7, refused.stderr);
  assert.equal(JSON.parse(refused.stdout).error.code, "LEDGER_TAMPERED");
  assert.match(refused.stderr, /the role of "ops" is none in the ledger but admin in the history/);
  tamper("INSERT INTO roles (name_key, name, role) VALUES ('ops', 'ops', 'admin')");
  assert.equal(pki(home, ["audit", "--verify"]).status, 0, "the edit undone: state and history agree");
});

test("no client certificate, one from another CA, an expired one, or one signed by the CA's key that the ledger never recorded: 401 with a code", async () => {
  assertRefused(curl("/v1/certificates"), 401, "CLIENT_CERTIFICATE_REQUIRED");
  openssl(["req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", f("foreign.key"), "-out", f("foreign.pem"), "-subj", "/CN=ops", "-days", "2"]);
  assertRefused(curl("/v1/certificates", { as: { cert: f("foreign.pem"), key: f("foreign.key") } }), 401, "UNTRUSTED_CLIENT_CERTIFICATE");
  assertRefused(curl("/v1/certificates", { as: await expiredClient(home, scratch.dir, "expired") }), 401, "CERTIFICATE_EXPIRED");
  const day = 86_400_000;
  const forged = await unrecordedClient(home, scratch.dir, "ops-unrecorded", new Date(Date.now() - day), new Date(Date.now() + day));
  assertRefused(curl("/v1/certificates", { as: forged }), 401, "UNKNOWN_CLIENT_CERTIFICATE");
});

test("an admin issues from a CSR made by openssl: 201, the certificate verifies, the ledger row, file and event name the admin", () => {
  const made = csr("holder", "whatever the CSR says");
  const a = curl("/v1/certificates", { as: admin, method: "POST", json: { name: "holder", profile: "client", csr: made.csr } });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  assert.equal(a.body.certificate.name, "holder");
  assert.equal(a.body.certificate.status, "valid");
  assert.equal(a.body.certificate.hasKey, false);
  writeFileSync(f("holder.pem"), a.body.pem);
  const v = openssl(["verify", "-CAfile", join(home, "ca.pem"), "-purpose", "sslclient", f("holder.pem")]);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(openssl(["x509", "-in", f("holder.pem"), "-noout", "-serial"]).stdout.trim().toLowerCase(), `serial=${a.body.certificate.serial}`);
  assert.match(openssl(["x509", "-in", f("holder.pem"), "-noout", "-subject"]).stdout, /^subject=CN ?= ?holder$/m);
  assert.equal(readFileSync(join(home, "certs", "holder.pem"), "utf8"), a.body.pem);
  assert.equal(pkiJson<View>(home, ["show", "holder"]).serial, a.body.certificate.serial);
  assert.deepEqual(pick(lastEvent()), { actor: "ops", action: "issued", serial: a.body.certificate.serial });
  holder = { cert: f("holder.pem"), key: made.key };

  const taken = curl("/v1/certificates", { as: admin, method: "POST", json: { name: "HOLDER", profile: "client", csr: made.csr } });
  assertRefused(taken, 409, "NAME_TAKEN");
  const server = curl("/v1/certificates", { as: admin, method: "POST", json: { name: "db.internal", profile: "server", csr: csr("db").csr, hosts: ["db.internal", "10.0.0.7"] } });
  assert.equal(server.status, 201, JSON.stringify(server.body));
  writeFileSync(f("db.pem"), server.body.pem);
  assert.match(openssl(["x509", "-in", f("db.pem"), "-noout", "-ext", "subjectAltName"]).stdout, /DNS:db\.internal, IP Address:10\.0\.0\.7/);
});

test("an admin lists (paged) and shows", () => {
  const first = curl("/v1/certificates?limit=2", { as: admin });
  assert.equal(first.status, 200);
  assert.equal(first.body.certificates.length, 2);
  assert.ok(first.body.next);
  const rest = curl(`/v1/certificates?limit=500&after=${first.body.next}`, { as: admin });
  const names = [...first.body.certificates, ...rest.body.certificates].map((c: View) => c.name);
  assert.deepEqual(names, pkiJson<View[]>(home, ["list"]).map((c) => c.name));
  assert.equal(rest.body.next, null);
  const shown = curl("/v1/certificates/holder", { as: admin });
  assert.equal(shown.status, 200);
  assert.equal(shown.body.pem, readFileSync(f("holder.pem"), "utf8"));
  assertRefused(curl("/v1/certificates/nobody", { as: admin }), 404, "NOT_FOUND");
});

test("a holder without a role may not issue, list, show, revoke or renew someone else (403); the ledger is unchanged", () => {
  const files = () => ({ ...snapshot(join(home, "certs")), ...snapshot(join(home, "private")), crl: readFileSync(join(home, "crl.pem"), "utf8") });
  const before = files();
  const events = pkiJson<unknown[]>(home, ["audit"]).length;
  assertRefused(curl("/v1/certificates", { as: holder, method: "POST", json: { name: "sneaky", profile: "client", csr: csr("sneaky").csr } }), 403, "FORBIDDEN");
  assertRefused(curl("/v1/certificates", { as: holder }), 403, "FORBIDDEN");
  assertRefused(curl("/v1/certificates/ops", { as: holder }), 403, "FORBIDDEN");
  assertRefused(curl("/v1/certificates/ops/revoke", { as: holder, method: "POST", json: { reason: "keyCompromise" } }), 403, "FORBIDDEN");
  assertRefused(curl("/v1/renew", { as: holder, method: "POST", json: { csr: csr("steal").csr, name: "ops" } }), 403, "FORBIDDEN");
  assert.deepEqual(files(), before);
  assert.equal(pkiJson<unknown[]>(home, ["audit"]).length, events);
});

test("a holder renews itself with its current certificate: same name and profile, the old one superseded and then refused", () => {
  const next = csr("holder-2");
  const oldSerial = pkiJson<View>(home, ["show", "holder"]).serial;
  const a = curl("/v1/renew", { as: holder, method: "POST", json: { csr: next.csr } });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  assert.equal(a.body.certificate.name, "holder");
  assert.equal(a.body.previous.serial, oldSerial);
  assert.equal(a.body.previous.status, "superseded");
  writeFileSync(f("holder-2.pem"), a.body.pem);
  assert.match(openssl(["x509", "-in", f("holder-2.pem"), "-noout", "-subject"]).stdout, /^subject=CN ?= ?holder$/m);
  assert.match(openssl(["x509", "-in", f("holder-2.pem"), "-noout", "-ext", "extendedKeyUsage"]).stdout, /TLS Web Client Authentication/);
  // The new certificate holds the key of the new CSR.
  const pub = (args: string[]) => openssl(args).stdout;
  assert.equal(pub(["x509", "-in", f("holder-2.pem"), "-noout", "-pubkey"]), pub(["pkey", "-in", next.key, "-pubout"]));
  assert.equal(pkiJson<View>(home, ["show", oldSerial]).status, "superseded");
  assert.deepEqual(pick(lastEvent()), { actor: "holder", action: "renewed", serial: a.body.certificate.serial });
  assertRefused(curl("/v1/renew", { as: holder, method: "POST", json: { csr: next.csr } }), 401, "CERTIFICATE_SUPERSEDED");
  holder = { cert: f("holder-2.pem"), key: next.key };
  const again = curl("/v1/renew", { as: holder, method: "POST", json: { csr: csr("holder-3").csr, name: "Holder" } });
  assert.equal(again.status, 201, "its own name, in another case, is itself");
  writeFileSync(f("holder-3.pem"), again.body.pem);
  holder = { cert: f("holder-3.pem"), key: f("holder-3.key") };
});

test("revoked through the API: the holder's next request is refused on the same server, and the CRL lists it", () => {
  const serial = pkiJson<View>(home, ["show", "holder"]).serial;
  const a = curl("/v1/certificates/holder/revoke", { as: admin, method: "POST", json: { reason: "keyCompromise" } });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.deepEqual(a.body.revoked.map((v: View) => v.serial).includes(serial), true);
  assert.equal(lastEvent().actor, "ops");
  assertRefused(curl("/v1/renew", { as: holder, method: "POST", json: { csr: csr("late").csr } }), 401, "CERTIFICATE_REVOKED");
  assert.match(openssl(["crl", "-in", join(home, "crl.pem"), "-noout", "-text"]).stdout, new RegExp(`Serial Number: ${serial.toUpperCase()}`));
  assertRefused(curl("/v1/certificates/holder/revoke", { as: admin, method: "POST", json: {} }), 409, "ALREADY_REVOKED");
  // holder-3's key was compromised with it: no one renews onto that key.
  const before = pkiJson<unknown[]>(home, ["list"]).length;
  assertRefused(curl("/v1/renew", { as: admin, method: "POST", json: { csr: readFileSync(f("holder-3.csr"), "utf8") } }), 422, "KEY_COMPROMISED");
  assert.equal(pkiJson<unknown[]>(home, ["list"]).length, before);
});

test("a role taken away applies at the next request; /metrics counts the API routes", async () => {
  pkiJson(home, ["role", "set", "ops", "none"]);
  assertRefused(curl("/v1/certificates", { as: admin }), 403, "FORBIDDEN");
  pkiJson(home, ["role", "set", "ops", "admin"]);
  assert.equal(curl("/v1/certificates", { as: admin }).status, 200);
  const metrics = (await http(`${served.url}/metrics`)).body.toString();
  assert.match(metrics, /pki_http_requests_total\{route="\/v1\/certificates",status="201"\} [1-9]/);
  assert.match(metrics, /pki_http_requests_total\{route="\/v1\/renew",status="403"\} 1/);
  assert.match(served.log(), /POST \/v1\/renew 201 \d+B [\d.]+ms caller="holder"/);
});

/** A raw HTTPS request as `as`, for bodies curl would not send as given. */
function raw(as: Identity, method: string, path: string, headers: Record<string, string>, body?: Uint8Array | string): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      { host: "127.0.0.1", port: served.apiPort!, method, path, headers: { connection: "close", ...headers }, agent: false, cert: readFileSync(as.cert), key: readFileSync(as.key), ca: readFileSync(join(home, "ca.pem")) },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Record<string, any> }));
      },
    );
    // The server may close a refused upload once it has answered.
    req.on("error", (e) => (answered ? undefined : reject(e)));
    req.end(body);
  });
}

test("120 malformed requests each get a 4xx with a stable code; nothing changes and the API still answers", async () => {
  const before = snapshot(join(home, "certs"));
  const count = pkiJson<unknown[]>(home, ["list"]).length;
  const good = csr("spare").csr;
  const json = { "content-type": "application/json" };
  const cases: [string, string, Record<string, string>, string | Uint8Array | undefined, number, string][] = [
    ["POST", "/v1/certificates", json, `{"name": "x", "profile": "cli`, 400, "BAD_JSON"],
    ["POST", "/v1/certificates", json, "x".repeat(900 * 1024), 413, "TOO_LARGE"],
    ["POST", "/v1/certificates", json, new Uint8Array([0xff, 0xfe, 0x00, 0x7b]), 400, "BAD_JSON"],
    ["POST", "/v1/certificates", { "content-type": "text/plain" }, JSON.stringify({ name: "x", profile: "client", csr: good }), 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["POST", "/v1/certificates", {}, JSON.stringify({ name: "x", profile: "client", csr: good }), 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["POST", "/v1/certificates", json, "[1,2]", 400, "BAD_REQUEST"],
    ["POST", "/v1/certificates", json, JSON.stringify({ name: 5, profile: "client", csr: good }), 400, "BAD_REQUEST"],
    ["POST", "/v1/certificates", json, JSON.stringify({ name: "x", profile: "client", csr: good, admin: true }), 400, "UNKNOWN_FIELD"],
    ["POST", "/v1/certificates", json, JSON.stringify({ name: "x", profile: "root", csr: good }), 400, "BAD_REQUEST"],
    ["POST", "/v1/certificates", json, JSON.stringify({ name: "x", profile: "client", csr: "not a csr" }), 400, "BAD_CSR"],
    ["POST", "/v1/certificates", json, JSON.stringify({ name: "x", profile: "client", csr: good.replace(/[A-Za-z]{8}\n/, "AAAAAAAA\n") }), 422, "INVALID_INPUT"],
    ["POST", "/v1/certificates", json, JSON.stringify({ name: "../etc/passwd", profile: "client", csr: good }), 400, "USAGE"],
    ["POST", "/v1/certificates", json, JSON.stringify({ name: "x", profile: "client", csr: good, days: 99999 }), 400, "USAGE"],
    ["DELETE", "/v1/certificates", {}, undefined, 405, "METHOD_NOT_ALLOWED"],
    ["GET", "/v1/nothing", {}, undefined, 404, "NOT_FOUND"],
    ["GET", "/v1/certificates/%zz", {}, undefined, 404, "NOT_FOUND"],
    ["GET", "//[", {}, undefined, 400, "BAD_REQUEST"],
    ["GET", "/v1/certificates?limit=0", {}, undefined, 400, "BAD_REQUEST"],
    ["GET", "/v1/certificates?after=abc", {}, undefined, 400, "BAD_CURSOR"],
    ["GET", "/v1/certificates?sort=name", {}, undefined, 400, "UNKNOWN_FIELD"],
    ["POST", "/v1/certificates/ops/revoke", json, JSON.stringify({ reason: "bogus" }), 400, "BAD_REASON"],
    ["POST", "/v1/renew", json, JSON.stringify({}), 400, "BAD_REQUEST"],
  ];
  let sent = 0;
  for (let round = 0; sent < 120; round++) {
    for (const [method, path, headers, body, status, code] of cases) {
      // Each round varies the bytes a little, so no two requests are the same.
      const varied = typeof body === "string" && round > 0 && status !== 413 ? body.replace(/"x"/, `"x${round}"`) : body;
      const a = await raw(admin, method, path, headers, varied);
      assert.equal(a.status, status, `${method} ${path} ${String(varied).slice(0, 60)}: ${JSON.stringify(a.body)}`);
      assert.equal(a.body.error?.code, code, `${method} ${path}: ${JSON.stringify(a.body)}`);
      sent++;
    }
  }
  // Bodies past the limit from curl, which asks Expect: 100-continue and is not invited.
  writeFileSync(f("huge.json"), "{" + " ".repeat(2 * 1024 * 1024) + "}");
  assertRefused(curl("/v1/certificates", { as: admin, method: "POST", file: f("huge.json") }), 413, "TOO_LARGE");
  writeFileSync(f("big.json"), "x".repeat(70 * 1024));
  assertRefused(curl("/v1/certificates", { as: admin, method: "POST", file: f("big.json") }), 413, "TOO_LARGE");
  assert.equal(curl("/v1/certificates?limit=1", { as: admin }).status, 200);
  assert.deepEqual(snapshot(join(home, "certs")), before);
  assert.equal(pkiJson<unknown[]>(home, ["list"]).length, count);
});

test("SIGTERM during a stream of API issuances: every 201 has its ledger row and file, and pki check is clean", async () => {
  const request = csr("stream").csr;
  const answered: { name: string; serial: string; pem: string }[] = [];
  let stopping: Promise<number | string> | null = null;
  const total = 40;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const name = `stream-${next++}`;
      let a: ApiAnswer;
      try {
        a = await raw(admin, "POST", "/v1/certificates", { "content-type": "application/json" }, JSON.stringify({ name, profile: "client", csr: request }));
      } catch {
        continue; // refused or cut off by the stopping server: no answer, nothing promised
      }
      if (a.status === 201) answered.push({ name, serial: a.body.certificate.serial, pem: a.body.pem });
      if (answered.length === 8 && !stopping) stopping = served.stop();
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  assert.equal(await (stopping ?? served.stop()), 0);
  assert.ok(answered.length >= 8, `only ${answered.length} answered`);
  for (const a of answered) {
    assert.equal(pkiJson<View>(home, ["show", a.name]).serial, a.serial);
    assert.equal(readFileSync(join(home, "certs", `${a.name}.pem`), "utf8"), a.pem);
  }
  const check = pki(home, ["check"]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
});
