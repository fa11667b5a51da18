import { type Command, Option } from "commander";
import type { KeyType } from "../../ca/authority.js";
import { PkiError } from "../../ca/errors.js";
import { homeOf } from "../context.js";
import { runCrlHook } from "../hooks.js";
import { plural, print, printJson, when } from "../output.js";
import { askConfirm, canPrompt } from "../prompts.js";
import { KEY_CHOICES, parseDays, withAuthority } from "./shared.js";

interface Flags {
  key?: KeyType;
  days?: number;
  profile?: string;
  finish?: boolean;
  force?: boolean;
  yes?: boolean;
  status?: boolean;
}

export function register(program: Command): Command {
  return program
    .command("rotate-root")
    .description("start a root rotation (a new root signs from now on, both are trusted), or --finish it")
    .addOption(new Option("--key <type>", "key type of the new root (default: the current root's)").choices(KEY_CHOICES))
    .option("--days <n>", "validity of the new root in days (default 3650)", parseDays)
    .option("--profile <file.ini>", "extensions profile (default templates/profiles/root.ini)")
    .option("--finish", "retire the old root: refused while a valid certificate still depends on it")
    .option("--force", "with --finish: retire it even so, cutting those certificates off (asks on a terminal; else needs --yes too)")
    .option("-y, --yes", "with --finish --force: do not ask")
    .option("--status", "show the roots and how many valid certificates each signed; change nothing")
    .addHelpText(
      "after",
      `
Examples:
  $ pki rotate-root                      # "Example Root CA G2"; ca.pem and crl.pem now hold both roots
  $ pki rotate-root --status             # which root is current, how many certificates the old one still has
  $ pki renew alice                      # alice's new certificate comes from the new root
  $ pki rotate-root --finish             # once no valid certificate depends on the old root
  $ pki rotate-root --finish --force --yes   # cut the rest off (they stop working at the servers' next reload)

During the overlap servers must read the new ca.pem and crl.pem (reload nginx after each step).`,
    )
    .action(async (flags: Flags, cmd: Command) => {
      if (flags.status) {
        if (flags.finish || flags.force || flags.key || flags.days !== undefined || flags.profile) throw new PkiError("usage", "--status changes nothing and takes no other option", "see pki rotate-root --help");
        return status(cmd);
      }
      if (flags.finish) {
        if (flags.key || flags.days !== undefined || flags.profile) throw new PkiError("usage", "--key, --days and --profile are for a new root, not with --finish", "see pki rotate-root --help");
        return finish(cmd, flags);
      }
      if (flags.force || flags.yes) throw new PkiError("usage", "--force and --yes go with --finish", "see pki rotate-root --help");
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const r = await authority.rotateRoot(ctx, {
          ...(flags.key ? { keyType: flags.key } : {}),
          ...(flags.days !== undefined ? { days: flags.days } : {}),
          ...(flags.profile ? { profile: flags.profile } : {}),
        });
        if (opts.json) {
          printJson({
            root: { serial: r.view.serial, name: r.view.name, subject: r.view.subject, generation: `G${r.generation}`, notAfter: r.view.notAfter },
            previous: { serial: r.previous.serial, name: r.previous.name, generation: `G${r.previous.generation}`, dependents: r.previous.dependents },
            crl: r.crl.path, crlNumber: r.crl.number,
          });
        } else {
          print(`Created the root "${r.view.subject}" (G${r.generation}, serial ${r.view.serial}), valid until ${when(r.view.notAfter)}; it signs every new certificate.`);
          print(`The G${r.previous.generation} root "${r.previous.name}" stays trusted: ${plural(r.previous.dependents, "valid certificate")} still depend on it.`);
          print(`  ${homeOf(opts).caCertificate}  now holds both roots; ${r.crl.path} both CRLs. Reload the servers that use them.`);
          print(`Next: renew the old certificates (pki renew NAME), then: pki rotate-root --finish`);
        }
        await runCrlHook(r.crl, homeOf(opts).dir, "rotate-root");
      });
    });
}

async function finish(cmd: Command, flags: Flags): Promise<void> {
  await withAuthority(cmd, async (authority, opts, ctx) => {
    let confirm: ((cutOff: number, root: { generation: number; record: { name: string } }) => Promise<boolean>) | undefined;
    if (flags.force && !flags.yes) {
      if (!canPrompt()) {
        throw new PkiError("usage", "--finish --force cuts valid certificates off and needs a confirmation: there is no terminal to ask on", "add --yes to confirm, or run it on a terminal", "CONFIRMATION_NEEDED");
      }
      confirm = async (n, root) => {
        process.stderr.write(`${plural(n, "valid certificate")} signed by the G${root.generation} root "${root.record.name}" will stop working at the servers' next reload.\n`);
        return askConfirm(`Retire the G${root.generation} root anyway?`);
      };
    }
    const r = await authority.retireOldRoots(ctx, { force: flags.force ?? false, ...(confirm ? { confirm } : {}) });
    if (opts.json) {
      printJson({ retired: r.retired.map((x) => ({ ...x, generation: `G${x.generation}` })), current: { ...r.current, generation: `G${r.current.generation}` } });
      return;
    }
    for (const x of r.retired) {
      print(`Retired the G${x.generation} root "${x.name}" (serial ${x.serial})${x.cutOff > 0 ? `, cutting off ${plural(x.cutOff, "valid certificate")}` : ""}.`);
    }
    print(`  ${homeOf(opts).caCertificate} and ${homeOf(opts).crl} now hold only the G${r.current.generation} root "${r.current.name}" and its CRL. Reload the servers that use them.`);
  });
}

async function status(cmd: Command): Promise<void> {
  await withAuthority(
    cmd,
    async (authority, opts, ctx) => {
      const { roots } = await authority.roots(ctx);
      if (opts.json) {
        printJson({ roots: roots.map((r) => ({ ...r, generation: `G${r.generation}` })) });
        return;
      }
      for (const r of roots) print(`G${r.generation}  ${r.status.padEnd(7)}  serial ${r.serial}  "${r.name}"  until ${when(r.notAfter)}  ${plural(r.dependents, "valid certificate")}`);
    },
    "read",
  );
}
