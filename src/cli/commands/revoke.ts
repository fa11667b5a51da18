import { type Command, InvalidArgumentError, Option } from "commander";
import { type CertificateView, CrlReason, REVOCATION_REASONS } from "../../ca/views.js";
import { MAX_NAME_LIST_BYTES, readBounded } from "../../ca/bounded-read.js";
import { PkiError, shown } from "../../ca/errors.js";
import type { RevokeBatchPlan, RevokeBatchResult } from "../../ca/revocation-batch.js";
import { plural, print, printJson, when } from "../output.js";
import { askConfirm, canPrompt } from "../prompts.js";
import type { CrlFormat } from "../../ca/revocation.js";
import { CRL_FORMAT_CHOICES, crlCopy, withAuthority } from "./shared.js";
import { homeOf } from "../context.js";
import { type AccessFlags, accessOptions, fileAccess } from "../file-access.js";
import { runCrlHook } from "../hooks.js";
import { delayedProgress } from "../progress.js";
import { io } from "../io.js";

interface Flags extends AccessFlags {
  reason: (typeof REVOCATION_REASONS)[number];
  serial?: string;
  yes?: boolean;
  crlOut?: string;
  crlFormat?: CrlFormat;
  from?: string;
  chunkSize?: number;
}

export function register(program: Command): Command {
  return accessOptions(program
    .command("revoke"))
    .description("revoke every working certificate of a name (or one serial) and regenerate crl.pem")
    .argument("[name|serial]", "certificate name (all its unexpired, unrevoked certificates) or one serial in hex")
    .option("--serial <serial>", "revoke only the certificate with this serial")
    .addOption(new Option("--reason <reason>", "RFC 5280 reason code").choices(REVOCATION_REASONS.filter((r) => r !== "removeFromCRL")).default("unspecified"))
    .option("--from <file>", "revoke every certificate named in FILE: one name or serial per line, # comments, one --reason for all")
    .addOption(new Option("--chunk-size <n>", "with --from: revocations per transaction").argParser(positiveInteger).hideHelp())
    .option("-y, --yes", "do not ask for confirmation on a terminal")
    .option("--crl-out <file>", "also write the new CRL here, for a server that cannot read the home (mode 0644; --owner, --group, --mode)")
    .addOption(new Option("--crl-format <format>", "format of the --crl-out copy (default pem)").choices(CRL_FORMAT_CHOICES))
    .addHelpText(
      "after",
      `
Examples:
  $ pki revoke alice --reason keyCompromise    # alice's current certificate and any older one still valid
  $ pki revoke --serial 5f3a9c…                # just this one (a serial from pki list)
  $ pki revoke alice --reason certificateHold  # a suspension: pki unrevoke alice lifts it
  $ pki revoke alice --yes && sudo nginx -s reload  # nginx reads ssl_crl only at start and reload
  $ pki revoke bob --crl-out /etc/mosquitto/pki/crl.pem   # a copy where the broker can read it
  $ pki revoke --from leavers.txt --reason affiliationChanged --yes   # thousands, one CRL at the end

On a terminal pki lists what it will revoke and asks first; --yes (or no terminal) skips the question.`,
    )
    .action(async (target: string | undefined, flags: Flags, cmd: Command) => {
      if (flags.from !== undefined) {
        if (target !== undefined || flags.serial !== undefined) throw new PkiError("usage", "--from takes the names and serials from the file: give no NAME or --serial with it", "see pki revoke --help");
        await revokeFromFile(flags.from, flags, cmd);
        return;
      }
      if (flags.chunkSize !== undefined) throw new PkiError("usage", "--chunk-size goes with --from");
      if ((target === undefined) === (flags.serial === undefined)) {
        throw new PkiError("usage", target === undefined ? "name a certificate or give --serial" : "give a name or --serial, not both", "see pki revoke --help");
      }
      const what = (target ?? flags.serial)!;
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const copy = crlCopy(flags.crlOut, flags.crlFormat, "--crl-out", "--crl-format", fileAccess(flags));
        const confirm = flags.yes || !canPrompt() ? undefined : (planned: CertificateView[]) => confirmRevocation(planned, flags.reason);
        const r = await authority.revoke(ctx, what, CrlReason[flags.reason], { serialOnly: flags.serial !== undefined, ...(confirm ? { confirm } : {}), ...(copy ? { crlCopy: copy } : {}) });
        if (opts.json) {
          printJson({
            serial: r.view.serial, name: r.view.name, reason: flags.reason, crl: r.crl.path, crlNumber: r.crl.number, crlNextUpdate: r.crl.nextUpdate, ...(copy ? { crlOut: copy.path } : {}),
            revoked: r.revoked.map((c) => ({ serial: c.view.serial, name: c.view.name, kind: c.view.kind, subject: c.view.subject, notAfter: c.view.notAfter, previousStatus: c.previousStatus })),
          });
        } else {
          if (r.revoked.length === 1) print(`Revoked "${r.view.subject}" (serial ${r.view.serial}, reason ${flags.reason}).`);
          else {
            print(`Revoked ${r.revoked.length} certificates of "${r.view.name}" (reason ${flags.reason}):`);
            for (const c of r.revoked) print(`  ${describe(c.view, c.previousStatus)}`);
          }
          print(`  CRL #${r.crl.number}: ${r.crl.path}${copy ? ` and ${copy.path}` : ""}, ${plural(r.crl.revoked, "certificate")} revoked, expires ${when(r.crl.nextUpdate)}`);
          print(r.crl.hook ? `Running the CRL hook: ${r.crl.hook}` : `Reload the servers that use it (nginx -s reload): they read the CRL only at start.`);
        }
        await runCrlHook(r.crl, homeOf(opts).dir, `revoke ${what}`);
      });
    });
}

async function revokeFromFile(file: string, flags: Flags, cmd: Command): Promise<void> {
  const { batchLines, BatchInterrupted } = await import("../../ca/revocation-batch.js");
  let text: string;
  try {
    text = readBounded(file, MAX_NAME_LIST_BYTES, "--from").toString("utf8");
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError("not-found", `cannot read --from ${shown(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = batchLines(text);
  if (lines.length === 0) throw new PkiError("usage", `--from ${shown(file)} holds no names or serials`, "one name or serial per line; # starts a comment");
  await withAuthority(cmd, async (authority, opts, ctx) => {
    const copy = crlCopy(flags.crlOut, flags.crlFormat, "--crl-out", "--crl-format", fileAccess(flags));
    const confirm = flags.yes || !canPrompt() ? undefined : (plan: RevokeBatchPlan) => confirmBatch(plan, flags.reason, file);
    const progress = delayedProgress("Revoking");
    let r: RevokeBatchResult;
    try {
      r = await authority.revokeBatch(ctx, {
        lines,
        reason: CrlReason[flags.reason],
        onProgress: (done, total) => progress.update(done, total),
        ...(flags.chunkSize !== undefined ? { chunkSize: flags.chunkSize } : {}),
        ...(confirm ? { confirm } : {}),
        ...(copy ? { crlCopy: copy } : {}),
      });
    } catch (e) {
      progress.end();
      // The chunks committed before the failure are in a new CRL: the servers must reload it all the same.
      if (e instanceof BatchInterrupted && e.crl) await runCrlHook(e.crl, homeOf(opts).dir, `revoke --from ${file}`);
      throw e;
    }
    progress.end();
    if (opts.json) {
      printJson({
        // `revoked` lists the certificates, as for a single revoke; the skipped lines are counted.
        reason: flags.reason, revoked: r.revoked.map((c) => ({ serial: c.serial, name: c.name, line: c.line })),
        alreadyRevoked: r.alreadyRevoked, expired: r.expired, duplicates: r.duplicates,
        crl: r.crl.path, crlNumber: r.crl.number, crlNextUpdate: r.crl.nextUpdate, ...(copy ? { crlOut: copy.path } : {}),
      });
    } else {
      const skipped = [
        r.alreadyRevoked ? `${r.alreadyRevoked} already revoked` : "",
        r.expired ? `${plural(r.expired, "name")} with only expired certificates` : "",
        r.duplicates ? `${plural(r.duplicates, "duplicate line")}` : "",
      ].filter(Boolean);
      print(`Revoked ${plural(r.revoked.length, "certificate")} (reason ${flags.reason})${skipped.length ? `; skipped ${skipped.join(", ")}` : ""}.`);
      print(`  CRL #${r.crl.number}: ${r.crl.path}${copy ? ` and ${copy.path}` : ""}, ${plural(r.crl.revoked, "certificate")} revoked, expires ${when(r.crl.nextUpdate)}`);
      print(r.crl.hook ? `Running the CRL hook: ${r.crl.hook}` : `Reload the servers that use it (nginx -s reload): they read the CRL only at start.`);
    }
    await runCrlHook(r.crl, homeOf(opts).dir, `revoke --from ${file}`);
  });
}

async function confirmBatch(plan: RevokeBatchPlan, reason: string, file: string): Promise<boolean> {
  const n = plan.revoke.length;
  if (n === 0) return true; // nothing to revoke: only a CRL is signed
  const skipped = plan.alreadyRevoked + plan.expired + plan.duplicates;
  io().stderr.write(`${shown(file)} revokes ${plural(n, "certificate")} (reason ${reason})${skipped ? `, ${skipped} line(s) have nothing left to revoke` : ""}; servers refuse them after their next CRL reload.\n`);
  for (const c of plan.revoke.slice(0, 10)) io().stderr.write(`  line ${c.line}: serial ${c.serial}  "${c.name}"\n`);
  if (n > 10) io().stderr.write(`  … and ${n - 10} more\n`);
  return askConfirm(n === 1 ? "Revoke it?" : `Revoke all ${n}?`);
}

function positiveInteger(v: string): number {
  if (!/^[1-9]\d{0,6}$/.test(v)) throw new InvalidArgumentError("expected a whole number from 1");
  return Number(v);
}

function describe(c: CertificateView, status: string): string {
  return `serial ${c.serial}  ${c.kind}  "${c.subject}"  ${status}, until ${when(c.notAfter)}`;
}

async function confirmRevocation(planned: CertificateView[], reason: string): Promise<boolean> {
  const n = planned.length;
  io().stderr.write(`This revokes ${plural(n, "certificate")} (reason ${reason}); servers refuse ${n === 1 ? "it" : "them"} after their next CRL reload:\n`);
  for (const c of planned) io().stderr.write(`  ${describe(c, c.status)}\n`);
  return askConfirm(n === 1 ? "Revoke it?" : `Revoke all ${n}?`);
}
