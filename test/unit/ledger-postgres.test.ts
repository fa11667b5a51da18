import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { LedgerError } from "../../src/ledger/errors.js";
import { collect, type EventAuthenticator, MALFORMED_DETAILS } from "../../src/ledger/ledger.js";
import { openLedger } from "../../src/ledger/open.js";
import { tempDir } from "../helpers.js";
import { cert, ledgerContract } from "../ledger-contract.js";
import { type PgCluster, startCluster } from "../postgres-cluster.js";

let cluster: PgCluster;
before(() => {
  cluster = startCluster();
});
after(() => cluster.remove());

ledgerContract("postgres", async () => {
  const url = await cluster.createDatabase();
  const ledger = await openLedger(url, { create: true });
  return {
    ledger,
    reopen: () => openLedger(url),
    cleanup: () => ledger.close(),
  };
});

/** Any MAC will do: the engine stores and returns it, the authority verifies it. */
const KEY: EventAuthenticator = { eventMac: (hash) => `mac(${hash})` };

const isLedgerError = (code: string, message?: RegExp) => (e: unknown) => e instanceof LedgerError && e.code === code && (!message || message.test(e.message));

test("postgres: the database stopping mid-write leaves nothing half-written; the same ledger reconnects when it is back", async () => {
  const url = await cluster.createDatabase();
  const l = await openLedger(url, { create: true });
  try {
    await l.write((tx) => tx.setSetting("k", "before"));
    await assert.rejects(
      l.write(async (tx) => {
        await tx.insertCertificate(cert("01", "alice"));
        await tx.appendEvent({ at: "t", actor: "a", action: "issued", serial: "01", details: {} }, KEY);
        cluster.stop();
        await tx.setSetting("k", "after");
      }),
      isLedgerError("unavailable", /the PostgreSQL ledger pki@\/tmp\/pki-pg-\w+:\d+\/pki_test_\d+ is unreachable/),
    );
    await assert.rejects(l.read((r) => r.count({})), isLedgerError("unavailable"));
    cluster.start();
    assert.equal(await l.read((r) => r.count({})), 0);
    assert.equal(await l.read((r) => r.headEventId()), 0);
    assert.equal(await l.read((r) => r.setting("k")), "before");
    await l.write((tx) => tx.insertCertificate(cert("01", "alice")));
    assert.equal(await l.read((r) => r.count({})), 1);
  } finally {
    cluster.start();
    await l.close();
  }
});

test("postgres: open errors say what happened: no database, no ledger in it, a newer schema", async () => {
  await assert.rejects(openLedger(cluster.url("no_such_db")), isLedgerError("cant-open", /no database pki@.*\/no_such_db/));
  const empty = await cluster.createDatabase();
  await assert.rejects(openLedger(empty), isLedgerError("cant-open", /no pki ledger in/));
  const l = await openLedger(empty, { create: true });
  await l.close();
  const admin = new pg.Client({ connectionString: empty });
  await admin.connect();
  await admin.query("UPDATE pki_schema SET version = 99");
  await admin.end();
  await assert.rejects(openLedger(empty), isLedgerError("newer-schema"));
});

test("postgres: a backup is a SQLite ledger holding every row as stored, with the same event chain", async () => {
  const url = await cluster.createDatabase();
  const l = await openLedger(url, { create: true });
  const scratch = tempDir();
  try {
    await l.write(async (tx) => {
      await tx.insertCertificate({ ...cert("01", "alice"), keyEncrypted: new Uint8Array([1, 2, 3]), csr: new Uint8Array([4]) });
      await tx.insertCertificate(cert("02", "bob"));
      await tx.markRevoked("01", "2026-06-01T00:00:00.000Z", 1);
      await tx.markSuperseded("02", "03");
      await tx.insertCertificate(cert("03", "bob"));
      await tx.insertCrl({ number: 1, thisUpdate: "t", nextUpdate: "n", der: new Uint8Array([9, 9]) });
      await tx.setSetting("hooks.crl", "true");
      await tx.setRole("Alice", "admin");
      for (const action of ["issued", "revoked", "crl-generated"]) await tx.appendEvent({ at: "t", actor: "a", action, serial: null, details: { action } }, KEY);
    });
    const path = join(scratch.dir, "copy.db");
    const progress: number[] = [];
    assert.deepEqual(await l.backupTo(path, (done) => progress.push(done)), { certificates: 3 });
    assert.equal(progress.at(-1), 3);
    const copy = await openLedger(path);
    try {
      const everything = (x: typeof l) =>
        x.read(async (r) => ({
          certificates: await collect((page) => r.certificates({}, page)),
          events: await collect((page) => r.events(page)),
          crl: await r.latestCrl(),
          settings: await r.settings(),
          roles: await r.roles(),
          head: await r.headEventId(),
        }));
      assert.deepEqual(await everything(copy), await everything(l));
      assert.deepEqual(await copy.integrityProblems(), []);
    } finally {
      await copy.close();
    }
  } finally {
    await l.close();
    scratch.cleanup();
  }
});

test("postgres: a login that fails on our side (no password to give) is refused at once and leaves no socket open", async () => {
  const guarded = startCluster({ password: "pw-for-this-test" });
  try {
    const url = await guarded.createDatabase();
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === "PipeWrap").length;
    const before = sockets();
    await assert.rejects(openLedger(url), isLedgerError("permission", /asks for a password for pki@.*pki_test_1, and none was given/));
    // node-postgres would keep this socket until the server's authentication_timeout (60 s), holding a command's exit.
    for (let i = 0; i < 100 && sockets() > before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(sockets(), before);
  } finally {
    guarded.remove();
  }
});

test("postgres: a connection lost during COMMIT is 'outcome-unknown' (may be recorded), not the retryable 'unavailable'", async () => {
  const url = await cluster.createDatabase();
  const l = await openLedger(url, { create: true });
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    // A deferred trigger runs inside COMMIT: the backend ends itself there, as a lost connection would.
    await admin.query(`CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NULL; END $$;
      CREATE CONSTRAINT TRIGGER die AFTER INSERT ON settings DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die()`);
    await assert.rejects(l.write((tx) => tx.setSetting("k", "v")), isLedgerError("outcome-unknown", / while committing/));
    await admin.query("DROP TRIGGER die ON settings");
    await l.write((tx) => tx.setSetting("k2", "after"));
    assert.equal(await l.read((r) => r.setting("k2")), "after", "the ledger goes on with a new connection");
  } finally {
    await admin.end();
    await l.close();
  }
});

test("postgres: a writer waits for another process's write lock, is told after a second, and gives up as 'busy' after its timeout", async () => {
  const url = await cluster.createDatabase();
  const l = await openLedger(url, { create: true });
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  try {
    // Another process in the middle of a write: it holds the advisory lock every writer takes.
    await holder.query("BEGIN");
    await holder.query("SELECT pg_advisory_xact_lock(x'706b69'::int)");
    const impatient = await openLedger(url, { busyTimeoutMs: 100 });
    await assert.rejects(impatient.write((tx) => tx.setSetting("k", "v")), isLedgerError("busy", /locked by another pki command/));
    await impatient.close();

    let told!: () => void;
    const notice = new Promise<void>((resolve) => (told = resolve));
    const patient = await openLedger(url, { busyTimeoutMs: 600_000, onLockWait: told });
    const writing = patient.write((tx) => tx.setSetting("k", "waited"));
    await notice;
    assert.equal(await l.read((r) => r.setting("k")), undefined, "nothing written while the lock is held");
    await holder.query("COMMIT");
    await writing;
    assert.equal(await l.read((r) => r.setting("k")), "waited");
    await patient.close();
  } finally {
    await holder.end();
    await l.close();
  }
});

test("postgres: an event row whose details were edited into something not JSON is returned for the audit to report, not thrown", async () => {
  const url = await cluster.createDatabase();
  const l = await openLedger(url, { create: true });
  try {
    await l.write((tx) => tx.appendEvent({ at: "t", actor: "a", action: "issued", serial: null, details: { n: 1 } }, KEY));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query("UPDATE events SET details = 'not json'");
    await admin.end();
    const [event] = (await l.read((r) => r.events())).items;
    assert.deepEqual(event!.details, { [MALFORMED_DETAILS]: "not json" });
  } finally {
    await l.close();
  }
});
