import { chmodSync, existsSync, lstatSync, readFileSync, type Stats, statSync } from "node:fs";
import { isSignedBy } from "../crypto/certificates.js";
import { crlPem, readVerifiedCrl } from "../crypto/crl.js";
import { encryptedKeyPem, KEY_PBKDF2_ITERATIONS, privateKeyIterations } from "../crypto/keys.js";
import { toPem, wholeDer } from "../crypto/pem.js";
import { x509 } from "../crypto/provider.js";
import { verifyAudit } from "./audit.js";
import { allPages } from "../ledger/ledger.js";
import { checkNameClaims } from "./check-names.js";
import { checkExports, checkStoredKeys } from "./check-secrets.js";
import type { Context } from "./context.js";
import { type CaCore, DAY_MS } from "./core.js";
import { checkLinks, checkTempFiles, listTree } from "./check-files.js";
import { DIR_MODE, PUBLIC_MODE, SECRET_MODE, safeFileName } from "./home.js";
import { PkiError } from "./errors.js";
import { crlHook } from "./hooks.js";
import { issueCrl } from "./revocation.js";
import { rootKeyUri, tokenKeyStatus } from "./root-key.js";
import { HistoryAuthenticator, readAnchor } from "./history.js";
import { caBundlePem, crlBundlePem, generationLabel, latestCrls, trustedRoots, type RootRecord } from "./roots.js";
import { dependents } from "./rotation.js";
import { when } from "./views.js";

function parsedRoot(der: Uint8Array): x509.X509Certificate | null {
  try {
    return new x509.X509Certificate(wholeDer(new Uint8Array(der), "root certificate"));
  } catch {
    return null;
  }
}

export interface Finding {
  /** Short name of what was checked: "ledger", "names", "chain", "files", "crl", "root", "permissions", "audit", "keys", "exports". */
  check: string;
  level: "ok" | "warning" | "error";
  message: string;
  /** What to do about it, when there is something. */
  fix?: string;
  /** Set when --repair fixed it. */
  repaired?: boolean;
}

/** Warn this long before the CRL's nextUpdate: a weekly regeneration must have happened by then. */
const CRL_WARN_DAYS = 7;
const ROOT_WARN_DAYS = 90;

/**
 * Checks a home end to end: SQLite integrity, every certificate chains to the root, the
 * files on disk are what the ledger says, the CRL is signed and current, the root is not
 * about to expire, permissions are tight, and the event log is intact. With `repair`,
 * rewrites outputs from the ledger and tightens modes; the only ledger change it makes is
 * resolving a name claimed by two current certificates (see checkNameClaims).
 */
export async function checkHome(core: CaCore, ctx: Context, repair: boolean, passphrase?: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const now = ctx.now;
  const { home, ledger } = core;

  const integrity = await ledger.integrityProblems();
  add(integrity.length === 0
    ? { check: "ledger", level: "ok", message: "ledger integrity check passed" }
    : { check: "ledger", level: "error", message: `ledger integrity check failed: ${integrity.slice(0, 3).join("; ")}`, fix: "restore the latest backup: pki restore FILE --home NEWDIR" });

  // Before the files check: a repair here changes which certificate the outputs come from.
  findings.push(...(await checkNameClaims(core, ctx, repair)));

  const rootCert = parsedRoot(core.root.der);
  if (!rootCert) {
    add({ check: "root", level: "error", message: `the root certificate in the ledger (serial ${core.root.serial}) does not parse: the ledger was altered outside pki`, fix: "restore the latest backup: pki restore FILE --home NEWDIR" });
    // Nothing chains to a root that does not parse; the event log still says what was changed.
    for (const p of (await ledger.read((r) => verifyAudit(r, null, readAnchor(home)))).problems) add({ check: "audit", level: "error", message: p, fix: "the ledger was edited outside pki: compare with a backup (pki audit --verify)" });
    return findings;
  }
  // One pass over the ledger, a page at a time: chain checks and the outputs it implies.
  const roots = await ledger.read((r) => r.roots());
  const expected: { path: string; content: string; mode: number }[] = [{ path: home.caCertificate, content: roots.length > 1 ? caBundlePem(roots) : toPem(core.root.der, "CERTIFICATE"), mode: PUBLIC_MODE }];
  const issuers = new Map(roots.map((root) => [root.record.serial, root.record.serial === core.root.serial ? rootCert : parsedRoot(root.record.der)]));
  let total = 0;
  let bad = 0;
  let revokedInLedger = 0;
  // Per issuing root: during a rotation overlap each root's CRL lists only its own certificates.
  const revokedByIssuer = new Map<string, number>();
  const crl = await ledger.read(async (r) => {
    revokedInLedger = await r.count({ state: "revoked" });
    for await (const c of allPages((page) => r.certificates({}, page))) {
      total++;
      if (c.state === "revoked") revokedByIssuer.set(c.issuer ?? "", (revokedByIssuer.get(c.issuer ?? "") ?? 0) + 1);
      const issuer = roots.length > 1 ? issuers.get(c.issuer ?? "") : rootCert;
      if (!issuer || !(await isSignedBy(c.der, issuer))) {
        bad++;
        add({ check: "chain", level: "error", message: `certificate ${c.serial} ("${c.name}") does not parse or is not signed by ${roots.length > 1 ? "the root the ledger names as its issuer" : "the root"}`, fix: "investigate: the ledger was altered outside pki (see pki audit --verify)" });
      }
      if (c.kind === "root" || c.state !== "active") continue;
      try {
        safeFileName(c.name);
      } catch (e) {
        bad++;
        add({ check: "chain", level: "error", message: (e as Error).message, fix: "the ledger was altered outside pki: see pki audit --verify, restore a good backup" });
        continue;
      }
      expected.push({ path: home.certificate(c.name), content: toPem(c.der, "CERTIFICATE"), mode: PUBLIC_MODE });
      if (c.keyEncrypted) expected.push({ path: home.key(c.name), content: encryptedKeyPem(c.keyEncrypted), mode: SECRET_MODE });
    }
    return r.latestCrl();
  });
  if (bad === 0) add({ check: "chain", level: "ok", message: `all ${total} certificates are signed by ${roots.length > 1 ? "their roots" : "the root"}` });
  findings.push(...(await checkOverlap(core, roots, now)));

  const rootDaysLeft = (Date.parse(core.root.notAfter) - now.getTime()) / DAY_MS;
  if (rootDaysLeft < 0) add({ check: "root", level: "error", message: `the root CA expired on ${when(core.root.notAfter)}: no client certificate verifies`, fix: "create a new CA (pki init-root in a new home) and roll it out" });
  else if (rootDaysLeft < ROOT_WARN_DAYS) add({ check: "root", level: "warning", message: `the root CA expires in ${Math.floor(rootDaysLeft)} days (${when(core.root.notAfter)})`, fix: "plan a new root now: servers must trust both during the change-over" });
  else add({ check: "root", level: "ok", message: `the root CA is valid until ${when(core.root.notAfter)}` });

  const crlInfo = crl && (await readVerifiedCrl(crl.der, rootCert));
  if (!crl || !crlInfo) {
    add({ check: "crl", level: "error", message: "the ledger holds no valid CRL signed by the root", fix: "run: pki crl" });
  } else {
    const daysLeft = ((crlInfo.nextUpdate?.getTime() ?? 0) - now.getTime()) / DAY_MS;
    if (daysLeft < 0) add({ check: "crl", level: "error", message: `CRL #${crl.number} expired at ${when(crl.nextUpdate)}: nginx now refuses every client certificate`, fix: "run: pki crl && nginx -s reload" });
    else if (daysLeft < CRL_WARN_DAYS) add({ check: "crl", level: "warning", message: `CRL #${crl.number} expires in ${daysLeft.toFixed(1)} days (${when(crl.nextUpdate)})`, fix: "run: pki crl && nginx -s reload (and schedule it weekly)" });
    else add({ check: "crl", level: "ok", message: `CRL #${crl.number} is signed and valid until ${when(crl.nextUpdate)}` });
  }
  // Every change that revokes or releases signs its CRL in the same transaction, except a bulk
  // revocation, which signs once after its last chunk: a kill between chunks leaves the ledger
  // with more revocations than the CRL. (Fewer is an edit outside pki: the audit reports that, and
  // no CRL is signed from such a ledger.)
  // Outputs: what should be on disk, derived from the ledger.
  const crls = roots.length > 1 ? await ledger.read((r) => latestCrls(r, roots)) : null;
  let behind: string | null = null;
  if (crls) {
    for (const c of crls) {
      const info = await readVerifiedCrl(c.der, issuers.get(c.issuer ?? "") ?? rootCert);
      const inLedger = revokedByIssuer.get(c.issuer ?? "") ?? 0;
      const root = roots.find((x) => x.record.serial === c.issuer);
      if (info && inLedger > info.entries) behind = `CRL #${c.number} of root ${root ? generationLabel(root.generation) : c.issuer} lists ${info.entries} revoked certificates but the ledger has ${inLedger} under that root`;
    }
  } else if (crlInfo && revokedInLedger > crlInfo.entries) {
    behind = `CRL #${crl!.number} lists ${crlInfo.entries} revoked certificates but the ledger has ${revokedInLedger}`;
  }
  const crlBehind = behind !== null;
  if (crl) expected.splice(1, 0, { path: home.crl, content: crls ? crlBundlePem(crls) : crlPem(crl.der), mode: PUBLIC_MODE });
  const differing: { path: string; content: string; mode: number; what: string }[] = [];
  for (const e of expected) {
    const actual = existsSync(e.path) ? readFileSync(e.path, "utf8") : null;
    if (actual !== e.content) differing.push({ ...e, what: actual === null ? "is missing" : "differs from the ledger" });
  }
  let repaired = false;
  let crlSigned: number | null = null;
  const notRewritten = new Map<string, PkiError>();
  if (repair) {
    try {
      core.home.create(); // certs/ or private/ may be what went missing
    } catch (err) {
      if (!(err instanceof PkiError)) throw err; // a link in the home: reported by checkLinks below
    }
    // Through a change: the ledger is checked against its authenticated history before any
    // output is rewritten from it (a ledger that lost a revocation must not become crl.pem),
    // and a home copied without its anchor gets a new one after its whole history verified.
    try {
      const signer = crlBehind ? await core.rootSigner() : null;
      const healed = await core.change(ctx, async (tx, files) => {
        // The new CRL replaces crl.pem, whatever the old one's file looked like.
        const signed = signer && (await issueCrl(core, ctx, tx, signer, files));
        if (signed) {
          crlSigned = signed.number;
          differing.splice(0, differing.length, ...differing.filter((d) => d.path !== home.crl));
        }
        for (const e of differing) {
          try {
            files.stage(e.path, e.content, e.mode);
          } catch (err) {
            if (!(err instanceof PkiError)) throw err;
            notRewritten.set(e.path, err);
          }
        }
        if (signed) return { hook: signed.hook, path: home.crl, number: signed.number };
        const crlRewritten = differing.some((e) => e.path === home.crl) && !notRewritten.has(home.crl);
        return crlRewritten ? { hook: await crlHook(tx, home), path: home.crl, number: crl!.number } : null;
      }, { reanchor: true });
      repaired = true;
      if (healed) core.options.onCrlRepaired?.(healed);
    } catch (err) {
      if (!(err instanceof PkiError && (err.code === "LEDGER_TAMPERED" || err.code === "ANCHOR_MISSING"))) throw err;
      add({ check: "audit", level: "error", message: `nothing was repaired: ${err.message}`, fix: err.hint ?? "" });
    }
  }
  if (crlBehind) {
    const what = `${behind}: a bulk revocation (pki revoke --from) was interrupted before it signed its CRL, so servers still accept the rest`;
    add(crlSigned !== null
      ? { check: "crl", level: "error", message: `signed CRL #${crlSigned} with every revocation (${what})`, repaired: true }
      : { check: "crl", level: "error", message: what, fix: "run: pki crl (or pki check --repair)", repaired: false });
  }
  for (const e of differing) {
    const err = notRewritten.get(e.path);
    if (err) add({ check: "files", level: "error", message: `${e.path} ${e.what}, and was not rewritten: ${err.message}`, ...(err.hint ? { fix: err.hint } : {}) });
    else add({ check: "files", level: "error", message: repaired ? `rewrote ${e.path} from the ledger (it ${e.what})` : `${e.path} ${e.what}`, fix: "run: pki check --repair (the ledger is the source of truth)", repaired });
  }
  if (differing.length === 0) add({ check: "files", level: "ok", message: `${expected.length} output files match the ledger` });

  findings.push(...checkLinks(home.dir));
  findings.push(...(await checkTempFiles(core, repair)));

  let loose = 0;
  for (const p of [home.dir, ...listTree(home.dir)]) {
    let st: Stats;
    try {
      st = p === home.dir ? statSync(p) : lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink() && p !== home.dir) continue; // reported above; a chmod would change the target
    const m = st.mode & 0o777;
    const want = st.isDirectory() ? DIR_MODE : /\.(key|p12|mobileconfig)$|ledger\.db/.test(p) ? SECRET_MODE : null;
    if (want === null || (m & ~want) === 0) continue;
    loose++;
    if (repair) chmodSync(p, want); // not a link: lstat said so
    add({ check: "permissions", level: "error", message: repair ? `changed the mode of ${p} from ${m.toString(8)} to ${want.toString(8)}` : `${p} has mode ${m.toString(8)}; it must be ${want.toString(8)}`, fix: `chmod ${want.toString(8)} ${p} (or pki check --repair)`, repaired: repair });
  }
  if (loose === 0) add({ check: "permissions", level: "ok", message: "directories are 0700, keys and the ledger 0600" });

  const tokenUri = await ledger.read((r) => rootKeyUri(r));
  const rootIterations = core.root.keyEncrypted && privateKeyIterations(core.root.keyEncrypted);
  const token = tokenUri ? await tokenKeyStatus(core, tokenUri) : null;
  if (token) add({ check: "keys", level: token.usable ? "ok" : "error", message: token.message, ...(token.fix ? { fix: token.fix } : {}) });
  else if (rootIterations !== null && rootIterations < KEY_PBKDF2_ITERATIONS) {
    add({ check: "keys", level: "warning", message: `the CA key is protected by ${rootIterations} PBKDF2 iterations (pki uses ${KEY_PBKDF2_ITERATIONS})`, fix: "re-encrypt every key: pki passphrase change" });
  } else add({ check: "keys", level: "ok", message: `the CA key is encrypted (PBES2, ${rootIterations} PBKDF2-SHA256 iterations)` });
  findings.push(...(await checkStoredKeys(core, passphrase)));
  findings.push(...(await checkExports(core, now)));

  // With the passphrase at hand, the history is authenticated too, not only consistent.
  // A root in a token MACs there: when the token is not usable (reported above), consistency is what can be checked.
  const auth = passphrase !== undefined && (!token || token.usable) ? new HistoryAuthenticator(await core.historyKey()) : null;
  const audit = await ledger.read((r) => verifyAudit(r, auth, readAnchor(home)));
  const how = auth ? "authenticated with the CA key" : "consistent (give the passphrase to check their MACs)";
  if (audit.ok) add({ check: "audit", level: "ok", message: `the event log's ${audit.events} events are intact and ${how} (head ${audit.head.slice(0, 16)}…)` });
  for (const p of audit.problems) add({ check: "audit", level: "error", message: p, fix: "the ledger was edited outside pki: compare with a backup (pki audit --verify)" });
  return findings;
}

/** During a root rotation: which roots are trusted, and how many valid certificates the older ones still carry. */
async function checkOverlap(core: CaCore, roots: readonly RootRecord[], now: Date): Promise<Finding[]> {
  const trusted = trustedRoots(roots);
  if (trusted.length < 2) return [];
  const current = trusted[0]!;
  const out: Finding[] = [];
  for (const old of trusted.slice(1)) {
    const left = (await core.ledger.read((r) => dependents(r, old, now))).length;
    out.push({
      check: "root",
      level: left > 0 ? "warning" : "ok",
      message: `root rotation under way: ${generationLabel(current.generation)} "${current.record.name}" signs, ${generationLabel(old.generation)} "${old.record.name}" is still trusted (ca.pem and crl.pem hold both) with ${left} valid certificate(s) left under it`,
      fix: left > 0 ? "renew them (pki renew NAME), then: pki rotate-root --finish" : "nothing depends on it any more: pki rotate-root --finish",
    });
  }
  return out;
}
