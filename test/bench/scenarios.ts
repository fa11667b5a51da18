// What `npm run bench` measures. Each scenario prepares its fixtures once, then measures its
// contenders interleaved in the same rounds, every run on a fresh copy of the fixture.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.js";
import { EASYRSA, MKCERT } from "./environment.js";
import { easyRsaEnv, easyRsaPki, fillLedger, freshCopy, opensslCaDir, pkiStep, SECRETS, smallHome } from "./fixtures.js";
import { type Contender, interleave, type Measured } from "./measure.js";
import { paired, summarize, type Summary } from "./stats.js";

export interface Sizes {
  startupRuns: number;
  heavyRuns: number;
  warmup: number;
  bulkNames: number[];
  bulkRuns: number;
  crlRevoked: number;
  crlValid: number;
  ledgerRows: number;
  /** OCSP: certificates in the ledger and the responder's index, timed rounds, seconds of load per round. */
  ocspRows: number;
  /** How many of them the load generator asks about. */
  ocspAsked: number;
  ocspRounds: number;
  ocspSeconds: number;
}

export const FULL: Sizes = { startupRuns: 21, heavyRuns: 15, warmup: 3, bulkNames: [10_000, 100_000], bulkRuns: 3, crlRevoked: 100_000, crlValid: 100_000, ledgerRows: 1_000_000, ocspRows: 100_000, ocspAsked: 256, ocspRounds: 5, ocspSeconds: 10 };
export const QUICK: Sizes = { startupRuns: 15, heavyRuns: 5, warmup: 1, bulkNames: [1_000], bulkRuns: 3, crlRevoked: 10_000, crlValid: 10_000, ledgerRows: 50_000, ocspRows: 10_000, ocspAsked: 64, ocspRounds: 2, ocspSeconds: 1 };

export interface Context {
  env: Record<string, string>;
  /** A directory of this bench run, removed at the end. */
  work: string;
  sizes: Sizes;
}

/** One line of the report: a contender's timings, and how it compares with its baseline. */
export interface Row {
  scenario: string;
  label: string;
  unit: "ms" | "certificates/s" | "responses/s";
  summary: Summary;
  peakRssMb?: number;
  baseline?: string;
  /** median(this) / median(baseline). */
  ratio?: number;
  /** p10 and p90 of this/baseline over the runs of one round (both measured side by side). */
  ratioSpread?: [number, number];
  /** Median (p10, p90) of this minus baseline, per round: the work beyond what the baseline does. */
  beyond?: Summary;
  target?: string;
  met?: boolean;
  note?: string;
}

export function compare(scenario: string, m: Measured, base: Measured, target?: { text: string; met: (r: Row) => boolean }, note?: string): Row {
  const ratios = summarize(paired(m.samples, base.samples, (x, y) => x / y));
  const row: Row = {
    scenario,
    label: m.label,
    unit: "ms",
    summary: m.summary,
    ...(m.peakRssMb !== undefined ? { peakRssMb: m.peakRssMb } : {}),
    baseline: base.label,
    ratio: m.summary.median / base.summary.median,
    ratioSpread: [ratios.p10, ratios.p90],
    beyond: summarize(paired(m.samples, base.samples, (x, y) => x - y)),
    ...(note ? { note } : {}),
  };
  if (target) Object.assign(row, { target: target.text, met: target.met(row) });
  return row;
}

/** Runs a check on a scenario's output; its stdout, or an error saying what is wrong. */
function checked(ctx: Context, cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { env: { ...ctx.env, ...SECRETS }, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`bench: ${what}: ${r.stderr.slice(-500)}`);
  return r.stdout;
}

export function plain(scenario: string, m: Measured, note?: string): Row {
  return { scenario, label: m.label, unit: "ms", summary: m.summary, ...(m.peakRssMb !== undefined ? { peakRssMb: m.peakRssMb } : {}), ...(note ? { note } : {}) };
}

/** Start-up: commands that sign nothing, on a small ledger, against `node -e 0`. */
export function startup(ctx: Context): Row[] {
  const fixture = join(ctx.work, "startup-fixture");
  const home = join(ctx.work, "startup");
  smallHome(ctx.env, fixture, 10);
  const onCopy = (label: string, args: string[]): Contender => ({ label, steps: [pkiStep(home, args)], prepare: () => freshCopy(fixture, home) });
  const node: Contender = { label: "node -e 0", steps: [{ cmd: process.execPath, args: ["-e", "0"] }], prepare: () => freshCopy(fixture, home) };
  const contenders = [
    node,
    { label: "pki --help", steps: [{ cmd: process.execPath, args: [pkiStep(home, []).args[0]!, "--help"] }], prepare: () => freshCopy(fixture, home) },
    onCopy("pki list (11 certificates)", ["list"]),
    onCopy("pki show user1", ["show", "user1"]),
    onCopy("pki show user1 --json", ["show", "user1", "--json"]),
  ];
  const [base, ...rest] = interleave(contenders, { warmup: ctx.sizes.warmup, runs: ctx.sizes.startupRuns, env: ctx.env, scratch: ctx.work });
  const target = { text: "≤ 1.2× node -e 0", met: (r: Row) => r.ratio! <= 1.2 };
  return [plain("start-up", base!), ...rest.map((m) => compare("start-up", m, base!, target))];
}

/**
 * One user, each command a fresh process: pki issue-client + export-p12 against easy-rsa's
 * build-client-full + export-p12 and openssl's req + x509 + pkcs12, all with encrypted keys
 * and the passphrase from the environment; mkcert (no key encryption) for reference.
 */
export function oneUser(ctx: Context): Row[] {
  const dirs = { pki: join(ctx.work, "one-pki"), easyRsa: join(ctx.work, "one-easyrsa"), openssl: join(ctx.work, "one-openssl"), mkcert: join(ctx.work, "one-mkcert") };
  const fixtures = { pki: `${dirs.pki}-fixture`, easyRsa: `${dirs.easyRsa}-fixture`, openssl: `${dirs.openssl}-fixture`, mkcert: `${dirs.mkcert}-fixture` };
  smallHome(ctx.env, fixtures.pki, 10);
  easyRsaPki(ctx.env, fixtures.easyRsa);
  opensslCaDir(fixtures.pki, fixtures.openssl);
  mkdirSync(fixtures.mkcert, { recursive: true });
  const mkcertEnv = { CAROOT: join(dirs.mkcert, "root"), TRUST_STORES: "none" };
  // mkcert creates its CA on first use: do that in the fixture, outside the timing.
  interleave([{ label: "mkcert CA", steps: [{ cmd: MKCERT, args: ["-ecdsa", "setup.example"], cwd: fixtures.mkcert, env: { ...mkcertEnv, CAROOT: join(fixtures.mkcert, "root") } }] }], { warmup: 0, runs: 1, env: ctx.env, scratch: fixtures.mkcert });
  const ini = join(ROOT, "templates", "profiles", "client.ini");
  const ossl = (args: string[]) => ({ cmd: "openssl", args, cwd: dirs.openssl, env: { ...SECRETS, PKI_NAME: "alice" } });
  const easyRsaStep = (args: string[]) => ({ cmd: EASYRSA, args, cwd: dirs.easyRsa, env: easyRsaEnv(dirs.easyRsa) });
  const contenders: Contender[] = [
    { label: "pki issue-client alice + pki export-p12 alice", steps: [pkiStep(dirs.pki, ["issue-client", "alice"]), pkiStep(dirs.pki, ["export-p12", "alice"])], prepare: () => freshCopy(fixtures.pki, dirs.pki) },
    { label: "easy-rsa build-client-full alice + export-p12 alice", steps: [easyRsaStep(["build-client-full", "alice"]), easyRsaStep(["export-p12", "alice"])], prepare: () => freshCopy(fixtures.easyRsa, dirs.easyRsa) },
    {
      label: "openssl req -newkey (-aes256) + x509 -req (pki's root key) + pkcs12",
      steps: [
        ossl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", "alice.key", "-passout", "env:PKI_PASSPHRASE", "-config", ini, "-out", "alice.csr"]),
        ossl(["x509", "-req", "-in", "alice.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-passin", "env:PKI_PASSPHRASE", "-set_serial", "0x5eed5eed5eed5eed", "-days", "365", "-extfile", ini, "-extensions", "client_extensions", "-out", "alice.pem"]),
        ossl(["pkcs12", "-export", "-inkey", "alice.key", "-passin", "env:PKI_PASSPHRASE", "-in", "alice.pem", "-certfile", "ca.pem", "-passout", "env:PKI_P12_PASSWORD", "-out", "alice.p12"]),
      ],
      prepare: () => freshCopy(fixtures.openssl, dirs.openssl),
    },
    { label: "mkcert -ecdsa -client -pkcs12 alice", steps: [{ cmd: MKCERT, args: ["-ecdsa", "-client", "-pkcs12", "-p12-file", "alice.p12", "alice.example"], cwd: dirs.mkcert, env: mkcertEnv }], prepare: () => freshCopy(fixtures.mkcert, dirs.mkcert) },
  ];
  const [pki, easyRsa, openssl, mkcert] = interleave(contenders, { warmup: ctx.sizes.warmup, runs: ctx.sizes.heavyRuns, env: ctx.env, scratch: ctx.work });
  // The last run's outputs: a .p12 that opens with its password, holding an encrypted-at-rest key's certificate.
  for (const p12 of [join(dirs.pki, "private", "alice.p12"), join(dirs.easyRsa, "pki", "private", "alice.p12"), join(dirs.openssl, "alice.p12")]) {
    const password = p12.startsWith(dirs.easyRsa) ? "env:PKI_PASSPHRASE" : "env:PKI_P12_PASSWORD";
    checked(ctx, "openssl", ["pkcs12", "-in", p12, "-passin", password, "-nokeys", "-noout"], `${p12} does not open with its password`);
  }
  return [
    plain("one user", easyRsa!, "CA and new key encrypted with openssl's default PBKDF2 (2,048 iterations)"),
    plain("one user", openssl!, "pki's own encrypted root key (PBKDF2 600,000 iterations); new key at openssl's default (2,048)"),
    plain("one user", mkcert!, "not equal work: keys unencrypted, fixed .p12 password"),
    compare("one user", pki!, easyRsa!, { text: "faster than easy-rsa (< 1×)", met: (r) => r.ratio! < 1 }, "CA key and new key: PBKDF2 600,000 iterations"),
    compare("one user", pki!, openssl!),
    compare("one user", pki!, mkcert!),
  ];
}

/** Bulk issuance from a file of names into an empty CA, with peak RSS. */
export function bulk(ctx: Context): Row[] {
  const fixture = join(ctx.work, "bulk-fixture");
  const home = join(ctx.work, "bulk");
  smallHome(ctx.env, fixture, 1);
  const rows: Row[] = [];
  for (const n of ctx.sizes.bulkNames) {
    const names = join(ctx.work, `bulk-${n}.txt`);
    writeFileSync(names, Array.from({ length: n }, (_, i) => `bulk${i}`).join("\n") + "\n");
    const last = rows.at(-1);
    // The largest size runs once, and only when the smaller one predicts it finishes in 5 minutes.
    const predictedMs = last ? (n / last.summary.median) * 1000 : 0;
    if (last && predictedMs > 300_000) {
      rows.push({ scenario: "bulk", label: `pki issue-client --from (${n} names)`, unit: "certificates/s", summary: last.summary, note: `skipped: predicted ${Math.round(predictedMs / 1000)} s at ${Math.round(last.summary.median)}/s` });
      continue;
    }
    const m = interleave([{ label: `pki issue-client --from (${n} names)`, steps: [pkiStep(home, ["issue-client", "--from", names])], prepare: () => freshCopy(fixture, home) }], {
      warmup: last ? 0 : 1,
      runs: last ? 1 : ctx.sizes.bulkRuns,
      env: ctx.env,
      scratch: ctx.work,
      rss: true,
    })[0]!;
    const target = n >= 10_000 ? { target: "≥ 2,000 certificates/s; ≤ 300 MB at 100,000", met: m.summary.median <= n / 2 && (n < 100_000 || m.peakRssMb! <= 300) } : {};
    rows.push({ scenario: "bulk", label: m.label, unit: "certificates/s", summary: summarize(m.samples.map((ms) => n / (ms / 1000))), peakRssMb: m.peakRssMb!, ...target });
  }
  return rows;
}

/** `pki crl` against `openssl ca -gencrl` on an index holding the same valid and revoked rows. */
export function crl(ctx: Context): Row[] {
  const { crlRevoked: revoked, crlValid: valid } = ctx.sizes;
  const fixture = join(ctx.work, "crl-fixture");
  const home = join(ctx.work, "crl");
  const osslFixture = join(ctx.work, "crl-openssl-fixture");
  const ossl = join(ctx.work, "crl-openssl");
  smallHome(ctx.env, fixture, 1);
  opensslCaDir(fixture, osslFixture);
  fillLedger(fixture, { revoked, valid, expiringSoon: 0 }, join(osslFixture, "index.txt"));
  const [pki, openssl] = interleave(
    [
      { label: `pki crl (${revoked} revoked, ${valid} valid)`, steps: [pkiStep(home, ["crl"])], prepare: () => freshCopy(fixture, home) },
      { label: `openssl ca -gencrl (same rows)`, steps: [{ cmd: "openssl", args: ["ca", "-gencrl", "-config", "ca.cnf", "-passin", "env:PKI_PASSPHRASE", "-out", "crl.pem"], cwd: ossl, env: SECRETS }], prepare: () => freshCopy(osslFixture, ossl) },
    ],
    { warmup: 1, runs: ctx.sizes.heavyRuns, env: ctx.env, scratch: ctx.work, rss: true },
  );
  // Both CRLs verify against the same CA and list every revoked certificate.
  for (const file of [join(home, "crl.pem"), join(ossl, "crl.pem")]) {
    checked(ctx, "openssl", ["crl", "-in", file, "-CAfile", join(fixture, "ca.pem"), "-noout", "-verify"], `${file} does not verify`);
    const listed = checked(ctx, "openssl", ["crl", "-in", file, "-noout", "-text"], `${file} does not parse`).match(/Serial Number:/g)?.length ?? 0;
    if (listed !== revoked) throw new Error(`bench: ${file} lists ${listed} certificates, not ${revoked}`);
  }
  return [plain("CRL", openssl!, "signs with pki's root key (same PBKDF2)"), compare("CRL", pki!, openssl!, { text: "≤ 0.5× openssl ca -gencrl", met: (r) => r.ratio! <= 0.5 })];
}

/**
 * A ledger of `ledgerRows` certificates (0.1% revoked, 0.1% expiring within 30 days) against
 * the 11-certificate ledger of the start-up scenario, same command on both, side by side:
 * the difference is the work that grows with the ledger.
 */
export function ledgerScale(ctx: Context): Row[] {
  const rows = ctx.sizes.ledgerRows;
  const small = { fixture: join(ctx.work, "scale-small-fixture"), home: join(ctx.work, "scale-small") };
  const large = { fixture: join(ctx.work, "scale-large-fixture"), home: join(ctx.work, "scale-large") };
  smallHome(ctx.env, small.fixture, 10);
  smallHome(ctx.env, large.fixture, 1);
  const share = Math.max(1, Math.round(rows / 1000));
  const probe = fillLedger(large.fixture, { revoked: share, expiringSoon: share, valid: rows - 2 * share });
  const out: Row[] = [];
  const target = { text: "≤ 50 ms beyond the small ledger", met: (r: Row) => r.beyond!.median <= 50 };
  for (const [what, largeArgs, smallArgs] of [
    ["list --expiring 30", ["list", "--expiring", "30"], ["list", "--expiring", "30"]],
    ["show NAME", ["show", probe.probeName], ["show", "user5"]],
    ["revoke NAME", ["revoke", probe.probeName], ["revoke", "user5"]],
  ] as const) {
    const [smallM, largeM] = interleave(
      [
        { label: `pki ${what} (11 certificates)`, steps: [pkiStep(small.home, [...smallArgs])], prepare: () => freshCopy(small.fixture, small.home) },
        { label: `pki ${what} (${rows} certificates)`, steps: [pkiStep(large.home, [...largeArgs])], prepare: () => freshCopy(large.fixture, large.home) },
      ],
      { warmup: 1, runs: ctx.sizes.heavyRuns, env: ctx.env, scratch: ctx.work },
    );
    out.push(plain("ledger scale", smallM!), compare("ledger scale", largeM!, smallM!, target, what === "list --expiring 30" ? `${share} match` : what === "revoke NAME" ? `CRL over ${share + 1} entries` : undefined));
  }
  return out;
}
