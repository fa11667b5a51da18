// `npm run bench`: pki against the tools people already use, measured in the same run on the
// same machine, reported as medians with their spread and as ratios to the baselines.
// Not part of npm test. Sizes can be lowered for a quick look:
//   PKI_BENCH_RUNS=5 PKI_BENCH_BULK=500 PKI_BENCH_ROWS=100000 PKI_BENCH_REVOKED=20000 npm run bench
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { PASSPHRASE, PKI_BIN, ROOT } from "../helpers.js";

const RUNS = Number(process.env.PKI_BENCH_RUNS ?? 15);
const BULK = Number(process.env.PKI_BENCH_BULK ?? 2000);
const ROWS = Number(process.env.PKI_BENCH_ROWS ?? 1_000_000);
const REVOKED = Number(process.env.PKI_BENCH_REVOKED ?? 100_000);
const work = mkdtempSync(join(tmpdir(), "pki-bench-"));
const env = { ...process.env, PKI_PASSPHRASE: PASSPHRASE, PKI_P12_PASSWORD: "bench", EASYRSA_BATCH: "1", EASYRSA_PASSIN: "pass:bench", EASYRSA_PASSOUT: "pass:bench" };

interface Row {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  n: number;
  baseline?: string;
  ratio?: number;
  target?: string;
  peakRssMb?: number;
  note?: string;
}
const rows: Row[] = [];

function ensureTools(): void {
  const missing = [["easyrsa", "easy-rsa", "/usr/share/easy-rsa/easyrsa"], ["mkcert", "mkcert", "/usr/bin/mkcert"], ["time", "time", "/usr/bin/time"]].filter(([, , path]) => !existsSync(path!));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`bench: missing ${missing.map((m) => m[1]).join(", ")} (install them with apt-get; baselines without them are skipped)`);
    return;
  }
  console.error(`bench: installing ${missing.map((m) => m[1]).join(", ")} from Debian…`);
  spawnSync("apt-get", ["update", "-qq"], { stdio: "ignore" });
  spawnSync("apt-get", ["install", "-y", "-qq", ...missing.map((m) => m[1]!)], { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

/** Wall time of one run of `cmd`, in ms; with GNU time, also its peak RSS. */
function once(cmd: string, args: string[], cwd = work): { ms: number; rssKb?: number } {
  const timed = existsSync("/usr/bin/time");
  const t0 = process.hrtime.bigint();
  const r = timed
    ? spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], { cwd, env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] })
    : spawnSync(cmd, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const rss = timed ? Number(r.stderr.trim().split("\n").pop()) : undefined;
  return { ms, ...(rss ? { rssKb: rss } : {}) };
}

function measure(name: string, n: number, run: (i: number) => { ms: number; rssKb?: number }, extra: Partial<Row> = {}): Row {
  const samples: number[] = [];
  let rss = 0;
  for (let i = 0; i < n; i++) {
    const r = run(i);
    samples.push(r.ms);
    rss = Math.max(rss, r.rssKb ?? 0);
  }
  samples.sort((a, b) => a - b);
  const row: Row = { name, unit: "ms", median: samples[Math.floor(n / 2)]!, min: samples[0]!, max: samples[n - 1]!, n, ...(rss ? { peakRssMb: Math.round(rss / 1024) } : {}), ...extra };
  rows.push(row);
  console.error(`  ${name}: ${row.median.toFixed(0)} ms`);
  return row;
}

function ratio(row: Row, base: Row): void {
  row.baseline = base.name;
  row.ratio = row.median / base.median;
}

const pki = (home: string, ...args: string[]) => ["--home", home, ...args];

function main(): void {
  ensureTools();
  console.error(`bench: ${RUNS} runs each, in ${work}`);
  const node0 = measure("node -e 0", RUNS, () => once(process.execPath, ["-e", "0"]));

  // Start-up of commands that do no heavy crypto, on a small ledger.
  const home = join(work, "small");
  execFileSync(process.execPath, [PKI_BIN, ...pki(home, "init-root", "--cn", "Bench Root")], { env });
  for (let i = 0; i < 10; i++) execFileSync(process.execPath, [PKI_BIN, ...pki(home, "issue-client", `user${i}`)], { env });
  for (const [label, args, target] of [
    ["pki --help", ["--help"], "≤ 1.5× node -e 0"],
    ["pki list (11 certificates)", pki(home, "list"), "≤ 1.5× node -e 0"],
    ["pki show user1 --json", pki(home, "show", "user1", "--json"), "≤ 1.5× node -e 0"],
    ["pki crl (small ledger)", pki(home, "crl"), "≤ 1.5× node -e 0"],
  ] as const) {
    ratio(measure(label, RUNS, () => once(process.execPath, [PKI_BIN, ...args])), node0);
    rows.at(-1)!.target = target;
  }

  // One client certificate with its .p12.
  const oneRuns = Math.max(5, Math.floor(RUNS / 2));
  const pkiOne = measure("pki issue-client NAME --p12", oneRuns, (i) => once(process.execPath, [PKI_BIN, ...pki(home, "issue-client", `one${i}`, "--p12")]), { target: "≤ 1.5× node -e 0" });
  ratio(pkiOne, node0);
  const opensslFlow = measure("seed page's openssl flow (rand, req, x509, pkcs12)", oneRuns, (i) => opensslClient(home, i));
  const easy = easyRsa(oneRuns);
  const mk = mkcert(oneRuns);
  for (const b of [opensslFlow, easy, mk]) if (b) rows.push({ ...pkiOne, name: `  pki issue-client --p12 vs ${b.name}`, baseline: b.name, ratio: pkiOne.median / b.median, target: b === easy ? "faster than easy-rsa" : "" });

  // Bulk.
  const bulkHome = join(work, "bulk");
  execFileSync(process.execPath, [PKI_BIN, ...pki(bulkHome, "init-root", "--cn", "Bulk Root")], { env });
  const names = join(work, "names.txt");
  writeFileSync(names, Array.from({ length: BULK }, (_, i) => `bulk${i}`).join("\n"));
  const bulk = once(process.execPath, [PKI_BIN, ...pki(bulkHome, "issue-client", "--from", names)]);
  rows.push({ name: `pki issue-client --from (${BULK} EC P-256)`, unit: "certs/s", median: BULK / (bulk.ms / 1000), min: 0, max: 0, n: 1, target: "≥ 2000 certs/s", ...(bulk.rssKb ? { peakRssMb: Math.round(bulk.rssKb / 1024) } : {}) });
  console.error(`  bulk: ${(BULK / (bulk.ms / 1000)).toFixed(0)} certs/s`);

  scale();
  report();
}

/** The manual flow pki replaces (the seed page), one client: four openssl processes. */
function opensslClient(home: string, i: number): { ms: number } {
  const dir = join(work, `openssl-${i}`);
  mkdirSync(dir, { recursive: true });
  const caKey = join(work, "ca.key");
  if (!existsSync(caKey)) {
    const ledger = new Database(join(home, "ledger.db"), { readonly: true });
    const row = ledger.prepare("SELECT key_encrypted FROM certificates WHERE kind = 'root'").get() as { key_encrypted: Buffer };
    ledger.close();
    writeFileSync(join(work, "ca.key.der"), row.key_encrypted);
    execFileSync("openssl", ["pkey", "-inform", "DER", "-in", join(work, "ca.key.der"), "-passin", "env:PKI_PASSPHRASE", "-out", caKey], { env });
  }
  const ini = join(ROOT, "templates", "profiles", "client.ini");
  const t0 = process.hrtime.bigint();
  const serial = execFileSync("openssl", ["rand", "-hex", "16"], { encoding: "utf8" }).trim();
  execFileSync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "r.csr"), "-config", ini], { env: { ...env, PKI_NAME: `o${i}` }, stdio: "ignore" });
  execFileSync("openssl", ["x509", "-req", "-in", join(dir, "r.csr"), "-CA", join(home, "ca.pem"), "-CAkey", caKey, "-set_serial", `0x${serial}`, "-days", "365", "-extfile", ini, "-extensions", "client_extensions", "-out", join(dir, "c.pem")], { env: { ...env, PKI_NAME: `o${i}` }, stdio: "ignore" });
  execFileSync("openssl", ["pkcs12", "-export", "-inkey", join(dir, "k.pem"), "-in", join(dir, "c.pem"), "-certfile", join(home, "ca.pem"), "-out", join(dir, "c.p12"), "-passout", "pass:bench"], { stdio: "ignore" });
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

function easyRsa(n: number): Row | null {
  const bin = "/usr/share/easy-rsa/easyrsa";
  if (!existsSync(bin)) return null;
  const dir = join(work, "easyrsa");
  const e = { ...env, EASYRSA_PKI: join(dir, "pki"), EASYRSA_ALGO: "ec", EASYRSA_CURVE: "prime256v1" };
  mkdirSync(dir, { recursive: true });
  execFileSync(bin, ["init-pki"], { cwd: dir, env: e, stdio: "ignore" });
  execFileSync(bin, ["build-ca", "nopass"], { cwd: dir, env: { ...e, EASYRSA_REQ_CN: "Bench Root" }, stdio: "ignore" });
  return measure("easy-rsa build-client-full + export-p12", n, (i) => {
    const t0 = process.hrtime.bigint();
    execFileSync(bin, ["build-client-full", `c${i}`, "nopass"], { cwd: dir, env: e, stdio: "ignore" });
    execFileSync(bin, ["export-p12", `c${i}`], { cwd: dir, env: e, stdio: "ignore" });
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  });
}

function mkcert(n: number): Row | null {
  if (!existsSync("/usr/bin/mkcert")) return null;
  const dir = join(work, "mkcert");
  mkdirSync(dir, { recursive: true });
  const e = { ...env, CAROOT: join(dir, "root"), TRUST_STORES: "none" };
  execFileSync("mkcert", ["-help"], { env: e, stdio: "ignore" });
  return measure("mkcert -ecdsa -client -pkcs12", n, (i) => {
    const t0 = process.hrtime.bigint();
    execFileSync("mkcert", ["-ecdsa", "-client", "-pkcs12", "-p12-file", join(dir, `c${i}.p12`), `c${i}.example`], { cwd: dir, env: e, stdio: "ignore" });
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  });
}

/** A ledger with ROWS certificates (REVOKED of them revoked), made with SQL: list/show/revoke/crl at scale, and openssl ca -gencrl on the same revocations. */
function scale(): void {
  const home = join(work, "large");
  execFileSync(process.execPath, [PKI_BIN, ...pki(home, "init-root", "--cn", "Scale Root")], { env });
  console.error(`  filling a ledger with ${ROWS} certificates (${REVOKED} revoked)…`);
  const db = new Database(join(home, "ledger.db"));
  const insert = db.prepare("INSERT INTO certificates (serial, name, kind, subject, not_before, not_after, der, key_encrypted, csr, state, revoked_at, revocation_reason, created_at) VALUES (?, ?, 'client', ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?)");
  const der = Buffer.alloc(600, 1);
  const now = Date.now();
  const index: string[] = [];
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      const serial = (0x10000000 + i).toString(16).padStart(32, "a");
      const revoked = i < REVOKED;
      // Expiry spread over two years: about ROWS/730*30 expire within 30 days.
      const notAfter = new Date(now + ((i * 7919) % 730) * 86_400_000 + 3_600_000).toISOString();
      insert.run(serial, `s${i}`, `CN=s${i}`, new Date(now - 86_400_000).toISOString(), notAfter, der, revoked ? "revoked" : "active", revoked ? new Date(now - 3_600_000).toISOString() : null, revoked ? 1 : null, new Date(now).toISOString());
      if (revoked) index.push(`R\t${ymd(new Date(Date.parse(notAfter)))}\t${ymd(new Date(now - 3_600_000))},keyCompromise\t${serial.toUpperCase()}\tunknown\t/CN=s${i}`);
    }
  })();
  db.close();
  const row = (label: string, args: string[], target: string) => {
    const r = measure(label, Math.max(5, Math.floor(RUNS / 3)), () => once(process.execPath, [PKI_BIN, ...pki(home, ...args)]));
    r.target = target;
    return r;
  };
  const startup = rows.find((r) => r.name === "pki list (11 certificates)")!;
  for (const r of [
    row(`pki list --expiring 30 (${ROWS} in the ledger)`, ["list", "--expiring", "30", "--json"], "≤ 50 ms beyond start-up"),
    row(`pki show SERIAL --json (${ROWS})`, ["show", (0x10000000 + ROWS - 1).toString(16).padStart(32, "a"), "--json"], "≤ 50 ms beyond start-up"),
  ]) {
    r.note = `${(r.median - startup.median).toFixed(0)} ms beyond pki list on 11 certificates`;
  }
  // revoke regenerates the CRL over all REVOKED entries, so it is measured once and reported with crl.
  const crl = row(`pki crl (${REVOKED} revoked)`, ["crl"], "≤ 0.5× openssl ca -gencrl");
  const caDir = join(work, "openssl-ca");
  mkdirSync(join(caDir, "newcerts"), { recursive: true });
  writeFileSync(join(caDir, "index.txt"), index.join("\n") + "\n");
  writeFileSync(join(caDir, "crlnumber"), "01\n");
  const db2 = new Database(join(home, "ledger.db"), { readonly: true });
  const rootKey = (db2.prepare("SELECT key_encrypted FROM certificates WHERE kind = 'root'").get() as { key_encrypted: Buffer }).key_encrypted;
  db2.close();
  writeFileSync(join(caDir, "ca.key.der"), rootKey);
  execFileSync("openssl", ["pkey", "-inform", "DER", "-in", join(caDir, "ca.key.der"), "-passin", "env:PKI_PASSPHRASE", "-out", join(caDir, "ca.key")], { env });
  writeFileSync(join(caDir, "ca.cnf"), `[ ca ]\ndefault_ca = c\n[ c ]\ndir = ${caDir}\ndatabase = $dir/index.txt\ncrlnumber = $dir/crlnumber\nnew_certs_dir = $dir/newcerts\ncertificate = ${join(home, "ca.pem")}\nprivate_key = $dir/ca.key\ndefault_md = sha256\ndefault_crl_days = 30\nunique_subject = no\npolicy = p\n[ p ]\ncommonName = supplied\n`);
  const ossl = measure(`openssl ca -gencrl (${REVOKED} revoked)`, Math.max(5, Math.floor(RUNS / 3)), () => once("openssl", ["ca", "-gencrl", "-config", join(caDir, "ca.cnf"), "-out", join(caDir, "crl.pem")]));
  ratio(crl, ossl);
  const revokeRow = measure(`pki revoke SERIAL (${ROWS}; includes the CRL over ${REVOKED + 1} entries)`, 1, () => once(process.execPath, [PKI_BIN, ...pki(home, "revoke", (0x10000000 + ROWS - 1).toString(16).padStart(32, "a"))]));
  revokeRow.target = "≤ 50 ms beyond start-up (+ the CRL)";
}

function ymd(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
}

function report(): void {
  const out = join(ROOT, "dist", "bench-results.json");
  const meta = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), runs: RUNS };
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  writeFileSync(out, JSON.stringify({ meta, rows }, null, 2) + "\n");
  const fmt = (r: Row) => (r.unit === "ms" ? `${r.median.toFixed(0)} ms (${r.min.toFixed(0)}–${r.max.toFixed(0)}, n=${r.n})` : `${r.median.toFixed(0)} ${r.unit}`);
  console.log(`pki benchmark, ${meta.date}, ${meta.cpus} × ${meta.cpu}, Node ${meta.node}\n`);
  console.log("| measurement | median (min–max, runs) | vs baseline | target | peak RSS |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) {
    console.log(`| ${r.name} | ${fmt(r)} | ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}× ${r.baseline}` : ""}${r.note ? ` (${r.note})` : ""} | ${r.target ?? ""} | ${r.peakRssMb ? `${r.peakRssMb} MB` : ""} |`);
  }
  console.log(`\nJSON: ${out}`);
  rmSync(work, { recursive: true, force: true });
}

main();
