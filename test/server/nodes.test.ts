// Two `pki serve` nodes over one PostgreSQL ledger, on a private cluster started for this file:
// pki join, anchors that are behind (fine) or ahead (LEDGER_TAMPERED), 500 API issuances from 16
// concurrent clients over both nodes, a revocation on one node in the other's very next OCSP
// answer and CRL, kill -9 of a node mid-run, and PostgreSQL stopped and started mid-run.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { openssl, pki, pkiJson, tempDir } from "../helpers.js";
import { type PgCluster, startCluster } from "../postgres-cluster.js";
import { type ApiClient, apiClient, type ApiReply } from "./api-client.js";
import { http, type Served, startServe } from "./helpers.js";

const work = tempDir("pki-nodes-");
const f = (n: string) => join(work.dir, n);
const homeA = f("node-a");
const homeB = f("node-b");
let cluster: PgCluster;
let url: string;
let csr: string;
let clients: ApiClient[] = [];
const running: Served[] = [];
const API = ["--api", "127.0.0.1:0", "--api-cert", "localhost"];
const CLIENTS = 16;

async function query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function serve(home: string): Promise<Served> {
  const s = await startServe(home, {}, API);
  running.push(s);
  return s;
}

before(async () => {
  cluster = startCluster();
  url = await cluster.createDatabase();
  const init = pki(homeA, ["init-root", "--cn", "Cluster Root CA"], { PKI_DATABASE_URL: url });
  assert.equal(init.status, 0, init.stderr);
  pkiJson(homeA, ["issue-server", "localhost", "127.0.0.1"]);
  pkiJson(homeA, ["issue-client", "ops"]);
  pkiJson(homeA, ["export-key", "ops", "--unencrypted", "--out", f("ops.key")]);
  pkiJson(homeA, ["role", "set", "ops", "admin"]);
  const r = openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("leaf.key"), "-out", f("leaf.csr"), "-subj", "/CN=leaf"]);
  assert.equal(r.status, 0, r.stderr);
  csr = readFileSync(f("leaf.csr"), "utf8");
});
after(async () => {
  for (const c of clients) c.close();
  for (const s of running) await s.stop();
  cluster?.remove();
  work.cleanup();
});

function jsonError(r: { status: number; stdout: string }): string {
  return (JSON.parse(r.stdout) as { error: { code: string } }).error.code;
}

test("pki join: a second home on the same database, after verifying the history with the CA key; refusals leave nothing behind", async () => {
  const nowhere = f("no-database");
  const bare = pki(nowhere, ["--json", "join"]);
  assert.equal(bare.status, 2, bare.stderr);
  assert.equal(jsonError(bare), "JOIN_NEEDS_DATABASE");
  assert.equal(existsSync(nowhere), false);

  const wrong = pki(homeB, ["--json", "join"], { PKI_DATABASE_URL: url, PKI_PASSPHRASE: "not the passphrase at all" });
  assert.equal(wrong.status, 5, wrong.stderr);
  assert.equal(jsonError(wrong), "BAD_PASSPHRASE");
  assert.equal(existsSync(homeB), false, "a refused join leaves no home");

  const empty = await cluster.createDatabase();
  const none = pki(homeB, ["--json", "join"], { PKI_DATABASE_URL: empty });
  assert.equal(none.status, 7, none.stderr);
  assert.equal(jsonError(none), "LEDGER_CANT_OPEN");
  assert.equal(existsSync(homeB), false);

  const events = (await query("SELECT id FROM events")).length;
  const joined = pkiJson<{ database: string; certificates: number; crlNumber: number }>(homeB, ["join"], { PKI_DATABASE_URL: url });
  assert.equal(joined.database, url);
  assert.equal(joined.certificates, 3);
  assert.equal(readFileSync(join(homeB, "database"), "utf8"), readFileSync(join(homeA, "database"), "utf8"));
  assert.equal(readFileSync(join(homeB, "ca.pem"), "utf8"), readFileSync(join(homeA, "ca.pem"), "utf8"));
  assert.equal(readFileSync(join(homeB, "crl.pem"), "utf8"), readFileSync(join(homeA, "crl.pem"), "utf8"));
  assert.equal(statSync(join(homeB, "ledger.anchor")).mode & 0o777, 0o600);
  assert.equal(existsSync(join(homeB, "ledger.db")), false);
  const newest = await query<{ id: number; action: string }>("SELECT id, action FROM events ORDER BY id DESC LIMIT 1");
  assert.deepEqual(newest.map((e) => [Number(e.id), e.action]), [[events + 1, "node-joined"]]);

  const again = pki(homeB, ["--json", "join"], { PKI_DATABASE_URL: url });
  assert.equal(again.status, 4);
  assert.equal(jsonError(again), "HOME_NOT_EMPTY");
  // Both homes change the one ledger; each one's anchor is behind after the other's change, which is fine.
  pkiJson(homeB, ["issue-client", "from-b"]);
  pkiJson(homeA, ["issue-client", "from-a"]);
  pkiJson(homeB, ["revoke", "from-a"]);
  assert.equal(pki(homeA, ["audit", "--verify"]).status, 0);
  assert.equal(pki(homeB, ["audit", "--verify"]).status, 0);
});

test("pki join shows the shared CRL hook and does not run it on the new node unless --accept-hooks", async () => {
  assert.equal(pki(homeA, ["hook", "set", "crl", 'touch "$PKI_HOME.hook-ran"']).status, 0);
  try {
    const [homeC, homeD] = [f("node-c"), f("node-d")];
    const c = pki(homeC, ["join"], { PKI_DATABASE_URL: url });
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /Does not run the shared CRL hook "touch "\$PKI_HOME.hook-ran""/);
    assert.ok(existsSync(join(homeC, "hooks.off")));
    assert.equal(pki(homeC, ["crl"]).status, 0);
    assert.equal(existsSync(`${homeC}.hook-ran`), false, "the hook did not run on the node that did not accept it");
    const d = pkiJson<{ hook: { command: string; kept: boolean } }>(homeD, ["join", "--accept-hooks"], { PKI_DATABASE_URL: url });
    assert.deepEqual(d.hook, { command: 'touch "$PKI_HOME.hook-ran"', kept: true });
    assert.equal(existsSync(join(homeD, "hooks.off")), false);
    assert.equal(pki(homeD, ["crl"]).status, 0);
    assert.ok(existsSync(`${homeD}.hook-ran`), "the node that accepted it runs it");
    // Setting the hook on a node is its opt-in.
    assert.equal(pki(homeC, ["hook", "set", "crl", 'touch "$PKI_HOME.hook-ran"']).status, 0);
    assert.equal(existsSync(join(homeC, "hooks.off")), false);
    assert.equal(pki(homeC, ["crl"]).status, 0);
    assert.ok(existsSync(`${homeC}.hook-ran`));
  } finally {
    assert.equal(pki(homeA, ["hook", "clear", "crl"]).status, 0);
  }
});

test("a node whose anchor is ahead of the database (events deleted, or an older database restored) refuses every change with LEDGER_TAMPERED", async () => {
  pkiJson(homeB, ["issue-client", "ahead"]);
  const [head] = await query<Record<string, unknown>>("SELECT * FROM events ORDER BY id DESC LIMIT 1");
  await query("DELETE FROM events WHERE id = $1", [head!.id]);
  const refused = pki(homeB, ["--json", "issue-client", "refused"]);
  assert.equal(refused.status, 7, refused.stderr);
  assert.equal(jsonError(refused), "LEDGER_TAMPERED");
  assert.match(refused.stderr, /is missing \(the log ends at event \d+\): events were deleted/);
  assert.equal((await query("SELECT 1 FROM certificates WHERE name = 'refused'")).length, 0);
  const columns = Object.keys(head!);
  await query(`INSERT INTO events (${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`, columns.map((c) => head![c]));
  pkiJson(homeB, ["issue-client", "accepted"]);
});

interface Outcome {
  name: string;
  node: "A" | "B";
  reply: ApiReply | null;
  /** Why no reply came. */
  error?: string;
}

/** `count` issuances named `${prefix}${i}` from CLIENTS concurrent clients; `route` picks each one's node (null: stop). */
async function issueMany(prefix: string, count: number, route: (i: number) => Served | null, each?: (o: Outcome, i: number) => Promise<void>): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      for (let i = next++; i < count; i = next++) {
        const node = route(i);
        if (!node) return;
        const name = `${prefix}${i}`;
        const which = node.apiPort === nodeA.apiPort ? "A" : "B";
        let reply: ApiReply | null = null;
        let error: string | undefined;
        try {
          reply = await client.call(node.apiPort!, "POST", "/v1/certificates", { name, profile: "client", csr });
        } catch (e) {
          error = String(e);
        }
        const o = { name, node: which, reply, ...(error ? { error } : {}) } as Outcome;
        outcomes.push(o);
        await each?.(o, i);
      }
    }),
  );
  return outcomes;
}

let nodeA: Served;
let nodeB: Served;

test("500 API issuances from 16 clients over both nodes, with revocations: 500 distinct serials, each 201 one row, one verified chain, CRL numbers strictly increasing", async () => {
  nodeA = await serve(homeA);
  nodeB = await serve(homeB);
  clients = Array.from({ length: CLIENTS }, () => apiClient({ cert: join(homeA, "certs", "ops.pem"), key: f("ops.key"), ca: join(homeA, "ca.pem") }));
  const crlNumbers: number[] = [];
  const outcomes = await issueMany("n", 500, (i) => (i % 2 ? nodeB : nodeA), async (o, i) => {
    // Every 25th certificate is revoked again, on the other node.
    if (i % 25 !== 0 || o.reply?.status !== 201) return;
    const other = o.node === "A" ? nodeB : nodeA;
    const r = await clients[i % CLIENTS]!.call(other.apiPort!, "POST", `/v1/certificates/${o.name}/revoke`, { reason: "superseded" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    crlNumbers.push(r.body.crl.number);
  });
  assert.equal(outcomes.length, 500);
  for (const o of outcomes) assert.equal(o.reply?.status, 201, `${o.name} on ${o.node}: ${JSON.stringify(o.reply?.body)}`);
  assert.ok(outcomes.some((o) => o.node === "B") && outcomes.some((o) => o.node === "A"));
  const serials = outcomes.map((o) => o.reply!.body.certificate.serial as string);
  assert.equal(new Set(serials).size, 500);
  const rows = await query<{ serial: string; name: string }>("SELECT serial, name FROM certificates WHERE name LIKE 'n%'");
  assert.equal(rows.length, 500);
  const byName = new Map(rows.map((r) => [r.name, r.serial]));
  for (const o of outcomes) assert.equal(byName.get(o.name), o.reply!.body.certificate.serial, o.name);
  assert.equal(new Set(crlNumbers).size, 20, "every revocation signed its own CRL number");
  const crls = await query<{ number: number }>("SELECT number FROM crls ORDER BY number");
  assert.deepEqual(crls.map((c) => Number(c.number)), crls.map((_, i) => i + 1), "CRL numbers 1..n, no gap, no duplicate");
  const generated = (await query<{ details: string }>("SELECT details FROM events WHERE action = 'crl-generated' ORDER BY id")).map((e) => Number(JSON.parse(e.details).number));
  for (let i = 1; i < generated.length; i++) assert.ok(generated[i]! > generated[i - 1]!, `CRL #${generated[i]} was recorded after #${generated[i - 1]}`);
  for (const home of [homeA, homeB]) {
    const audit = pki(home, ["audit", "--verify"]);
    assert.equal(audit.status, 0, audit.stdout + audit.stderr);
  }
});

/** The OCSP request openssl makes for `cert`. */
function ocspRequest(cert: string): Buffer {
  const out = f("req.der");
  const r = openssl(["ocsp", "-issuer", join(homeA, "ca.pem"), "-cert", cert, "-no_nonce", "-reqout", out]);
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(out);
}

async function ocspStatus(node: Served, request: Buffer): Promise<string> {
  const res = await http(`${node.url}/ocsp`, { method: "POST", headers: { "content-type": "application/ocsp-request" }, body: request });
  assert.equal(res.status, 200);
  writeFileSync(f("resp.der"), res.body);
  const text = openssl(["ocsp", "-respin", f("resp.der"), "-resp_text", "-noverify"]).stdout;
  return /Cert Status: (\w+)/.exec(text)?.[1] ?? "none";
}

async function crlHas(node: Served, serial: string): Promise<boolean> {
  const res = await http(`${node.url}/crl.der`);
  assert.equal(res.status, 200);
  writeFileSync(f("crl.der"), res.body);
  const text = openssl(["crl", "-inform", "DER", "-in", f("crl.der"), "-noout", "-text"]).stdout.toLowerCase();
  return text.includes(`serial number: ${serial.toLowerCase()}`);
}

test("a revocation on one node, by the API or the CLI, is in the other node's very next OCSP answer and CRL", async () => {
  for (const [how, revoke] of [
    ["api", async (name: string) => assert.equal((await clients[0]!.call(nodeA.apiPort!, "POST", `/v1/certificates/${name}/revoke`, { reason: "keyCompromise" })).status, 200)],
    ["cli", async (name: string) => void pkiJson(homeA, ["revoke", name])],
  ] as const) {
    const name = `watched-${how}`;
    const issued = await clients[0]!.call(nodeA.apiPort!, "POST", "/v1/certificates", { name, profile: "client", csr });
    assert.equal(issued.status, 201);
    writeFileSync(f(`${name}.pem`), issued.body.pem);
    const request = ocspRequest(f(`${name}.pem`));
    assert.equal(await ocspStatus(nodeB, request), "good");
    assert.equal(await crlHas(nodeB, issued.body.certificate.serial), false);
    await revoke(name);
    // No waiting: B reads the ledger's head on every request, so its cached answers go at once.
    const t0 = performance.now();
    assert.equal(await ocspStatus(nodeB, request), "revoked", how);
    assert.equal(await crlHas(nodeB, issued.body.certificate.serial), true, how);
    console.log(`# ${how} revoke on A: B's first OCSP answer and CRL after it both show it (${(performance.now() - t0).toFixed(0)} ms for the two requests)`);
  }
});

test("kill -9 of one node mid-run: the other keeps answering; every row is an answered request or one the dead node took with it, reported by a retry", async () => {
  let killed = false;
  let answeredByB = 0;
  const outcomes = await issueMany("k", 200, (i) => (killed || i % 2 === 0 ? nodeA : nodeB), async (o) => {
    if (!killed && o.node === "B" && o.reply?.status === 201 && ++answeredByB >= 30) {
      killed = true;
      nodeB.child.kill("SIGKILL");
    }
  });
  assert.ok(killed);
  const lost = outcomes.filter((o) => o.reply === null);
  for (const o of outcomes) if (o.reply) assert.equal(o.reply.status, 201, `${o.name} on ${o.node}: ${JSON.stringify(o.reply.body)}`);
  assert.ok(lost.every((o) => o.node === "B"), `only requests to the killed node went unanswered: ${JSON.stringify(lost.filter((o) => o.node !== "B"))}`);
  assert.ok(lost.length <= CLIENTS);
  assert.ok(outcomes.filter((o) => o.node === "A" && o.reply?.status === 201).length > 100, "A kept answering");
  // What the dead node took with it: a retry on A either issues it or says it exists.
  const retried = new Map<string, ApiReply>();
  for (const o of lost) retried.set(o.name, await clients[0]!.call(nodeA.apiPort!, "POST", "/v1/certificates", { name: o.name, profile: "client", csr }));
  const rows = await query<{ serial: string; name: string }>("SELECT serial, name FROM certificates WHERE name LIKE 'k%'");
  const byName = new Map(rows.map((r) => [r.name, r.serial]));
  assert.equal(byName.size, rows.length, "no name twice");
  assert.equal(rows.length, outcomes.length, "every request is a row: none lost, none doubled");
  for (const o of outcomes) {
    const answer = o.reply ?? retried.get(o.name)!;
    if (answer.status === 201) assert.equal(byName.get(o.name), answer.body.certificate.serial, o.name);
    else assert.deepEqual([answer.status, answer.body.error?.code, byName.has(o.name)], [409, "NAME_TAKEN", true], o.name);
  }
  // pki check on the surviving node: the ledger, chain and history sound; the files B wrote
  // (and A never saw) are reported missing, and --repair writes them.
  const check = pki(homeA, ["--json", "check"]);
  assert.equal(check.status, 8);
  const findings = (JSON.parse(check.stdout) as { findings: { check: string; level: string; message: string }[] }).findings;
  const errors = findings.filter((x) => x.level === "error");
  assert.ok(errors.some((x) => /certs\/k\d+\.pem is missing/.test(x.message)), check.stdout);
  assert.ok(errors.every((x) => x.check === "files" && / is missing$/.test(x.message)), check.stdout);
  assert.equal(pki(homeA, ["check", "--repair"]).status, 0);
  const after = pki(homeA, ["check"]);
  assert.equal(after.status, 0, after.stdout);
  assert.equal(pki(homeA, ["audit", "--verify"]).status, 0);
  nodeB = await serve(homeB);
});

test("PostgreSQL stopped and started mid-run: 503 LEDGER_UNAVAILABLE during the outage, both nodes recover without a restart, no partial rows", async () => {
  const phase = { down: false, upAgain: false };
  const refusedBy = { A: 0, B: 0 };
  const afterBy = { A: 0, B: 0 };
  let answered = 0;
  const outcomes = await issueMany("p", 2000, (i) => (phase.upAgain && afterBy.A >= 20 && afterBy.B >= 20 ? null : i % 2 ? nodeB : nodeA), async (o) => {
    if (o.reply?.status === 201) {
      answered++;
      if (phase.upAgain) afterBy[o.node]++;
    } else if (o.reply?.status === 503) {
      refusedBy[o.node]++;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!phase.down && answered >= 40) {
      phase.down = true;
      cluster.stop();
    } else if (phase.down && !phase.upAgain && refusedBy.A >= 5 && refusedBy.B >= 5) {
      phase.upAgain = true;
      cluster.start();
    }
  });
  const statuses = new Map<string, number>();
  for (const o of outcomes) statuses.set(`${o.node} ${o.reply?.status} ${o.reply?.body.error?.code ?? ""}`, (statuses.get(`${o.node} ${o.reply?.status} ${o.reply?.body.error?.code ?? ""}`) ?? 0) + 1);
  assert.ok(phase.upAgain, `the outage happened: ${JSON.stringify([...statuses])} ${JSON.stringify(outcomes.find((o) => o.reply?.status !== 201)?.reply?.body)}`);
  assert.ok(afterBy.A >= 20 && afterBy.B >= 20, "both nodes issued again after the database came back, without a restart");
  const rows = new Map((await query<{ serial: string; name: string }>("SELECT serial, name FROM certificates WHERE name LIKE 'p%'")).map((r) => [r.name, r.serial]));
  for (const o of outcomes) {
    assert.ok(o.reply, `${o.name}: every request got an answer`);
    if (o.reply.status === 201) {
      assert.equal(rows.get(o.name), o.reply.body.certificate.serial, o.name);
      continue;
    }
    const { code, message } = o.reply.body.error as { code: string; message: string };
    // Lost during COMMIT: may be recorded, so 500 with no invitation to retry.
    if (code === "LEDGER_OUTCOME_UNKNOWN") {
      assert.equal(o.reply.status, 500, JSON.stringify(o.reply.body));
      assert.match(message, / while committing/);
      continue;
    }
    assert.equal(o.reply.status, 503, JSON.stringify(o.reply.body));
    // Cut during COMMIT, or after it while writing the node's files: recorded, and said so.
    const maybeRecorded = / while committing|is recorded in the ledger/.test(message);
    assert.ok(code === "LEDGER_UNAVAILABLE" || (code === "STORAGE" && maybeRecorded), `${o.name}: ${code} ${message}`);
    if (!maybeRecorded) assert.equal(rows.has(o.name), false, `${o.name} was refused but has a row`);
  }
  assert.ok(refusedBy.A >= 5 && refusedBy.B >= 5);
  const health = await http(`${nodeB.url}/health`);
  assert.equal(health.status, 200);
  for (const home of [homeA, homeB]) {
    const audit = pki(home, ["audit", "--verify"]);
    assert.equal(audit.status, 0, audit.stdout + audit.stderr);
  }
});

test("while PostgreSQL is down, OCSP answers tryLater with 503 and the CRL route 503 LEDGER_UNAVAILABLE", async () => {
  const request = ocspRequest(f("watched-api.pem"));
  cluster.stop();
  try {
    const ocsp = await http(`${nodeA.url}/ocsp`, { method: "POST", headers: { "content-type": "application/ocsp-request" }, body: request });
    assert.equal(ocsp.status, 503);
    writeFileSync(f("resp.der"), ocsp.body);
    assert.match(openssl(["ocsp", "-respin", f("resp.der"), "-resp_text", "-noverify"]).stdout, /trylater/i);
    const crl = await http(`${nodeA.url}/crl.der`);
    assert.equal(crl.status, 503);
    assert.equal(JSON.parse(crl.body.toString()).error.code, "LEDGER_UNAVAILABLE");
  } finally {
    cluster.start();
  }
  assert.equal(await ocspStatus(nodeA, request), "revoked");
});
