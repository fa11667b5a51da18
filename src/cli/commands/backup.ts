import { resolve } from "node:path";
import type { Command } from "commander";
import { authorityOptions, commandContext, globals } from "../context.js";
import { EXIT } from "../errors.js";
import { plural, print, printJson } from "../output.js";
import { delayedProgress } from "../progress.js";
import { shown } from "../../ca/errors.js";
import { withAuthority } from "./shared.js";

export function registerBackup(program: Command): Command {
  return program
    .command("backup")
    .description("write an online, consistent copy of the ledger (the whole CA) to FILE")
    .argument("<file>", "where to write the backup (must not exist)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki backup /srv/backups/pki-$(date +%F).db
  $ pki --home /etc/pki-clients backup ~/pki.db && scp ~/pki.db vault:

Safe while other pki processes issue and revoke. Keys inside stay encrypted with the
CA passphrase; keep the passphrase somewhere else than the backup.`,
    )
    .action(async (file: string, _flags: unknown, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const progress = delayedProgress("backing up");
        const r = await authority.backup(ctx, resolve(file), progress.update).finally(progress.end);
        if (!r.recorded) process.stderr.write("pki: backup: warning: the event log does not record this backup (the home cannot be written, its history does not verify, or no CA passphrase was given by --passphrase-file or PKI_PASSPHRASE)\n");
        if (opts.json) printJson({ file: r.file, sha256: r.sha256, certificates: r.certificates, recorded: r.recorded });
        else print(`Backed up ${plural(r.certificates, "certificate")} to ${r.file} (sha256 ${r.sha256}).`);
      }, "write-if-possible");
    });
}

export function registerRestore(program: Command): Command {
  return program
    .command("restore")
    .description("restore a backup into an empty home and rewrite every output file from it")
    .argument("<file>", "a file written by pki backup")
    .option("--accept-hooks", "keep the CRL hook the backup carries (a shell command pki will run); without it, restore drops it and says so")
    .addHelpText(
      "after",
      `
Examples:
  $ pki --home /etc/pki-clients restore /srv/backups/pki-2026-11-23.db
  $ pki --home ./restored restore pki.db && pki --home ./restored check
  $ pki --home /etc/pki-clients restore pki.db --accept-hooks   # after reading the hook it shows

Nothing is written unless the backup is exactly what pki writes: its schema (no foreign
triggers, views or tables), every certificate signed by its root, names pki gives, known
settings, an intact event log (code BACKUP_TAMPERED otherwise).`,
    )
    .action(async (file: string, flags: { acceptHooks?: boolean }, cmd: Command) => {
      const opts = globals(cmd);
      const { Authority } = await import("../../ca/authority.js");
      const options = authorityOptions(opts);
      const progress = delayedProgress("restoring");
      const r = await Authority.restore(options, commandContext(), resolve(file), flags.acceptHooks ?? false, progress.update).finally(progress.end);
      const failed = r.findings.some((f) => f.level === "error" && !f.repaired);
      if (opts.json) printJson({ home: options.home.dir, certificates: r.certificates, ok: !failed, hooks: { crl: r.hook.command, kept: r.hook.kept }, findings: r.findings });
      else {
        print(`Restored ${plural(r.certificates, "certificate")} into ${options.home.dir}; ca.pem, crl.pem, certs/ and private/ rewritten.`);
        if (r.hook.command !== null && r.hook.kept) print(`Kept the backup's CRL hook (--accept-hooks): "${shown(r.hook.command, 1000)}"`);
        if (r.hook.command !== null && !r.hook.kept) print(`Dropped the backup's CRL hook "${shown(r.hook.command, 1000)}"; if it is yours, set it again (pki hook set crl CMD) or restore with --accept-hooks.`);
        for (const f of r.findings.filter((f) => f.level !== "ok" && !f.repaired)) print(`  ${f.level}: ${f.message}${f.fix ? ` → ${f.fix}` : ""}`);
      }
      if (failed) process.exitCode = EXIT.problems;
    });
}
