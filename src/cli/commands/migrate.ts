import type { Command } from "commander";
import { PkiError } from "../../ca/errors.js";
import { hasPassword } from "../../ca/ledger-location.js";
import { print, printJson } from "../output.js";
import { delayedProgress } from "../progress.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  return program
    .command("migrate")
    .description("copy the ledger into the other engine: a SQLite home into an empty PostgreSQL database, or a PostgreSQL ledger into a new SQLite file")
    .requiredOption("--to <target>", "postgres://USER@HOST/DB (an empty database; its password from PGPASSWORD or ~/.pgpass) or FILE.db (must not exist)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki --home /etc/pki-clients migrate --to 'postgres://pki@db.internal/pki?sslmode=verify-full&sslrootcert=/etc/pki/db-ca.pem'
  $ PKI_DATABASE_URL=postgres://pki@db.internal/pki pki --home /etc/pki-node-a migrate --to /srv/pki-ledger.db

Copies one consistent snapshot, then proves the copy: the same rows in every table, the same
event chain to the same newest hash, every MAC made by this CA's key (so it needs the CA
passphrase). A target that already holds a ledger is refused (MIGRATE_TARGET_NOT_EMPTY) and
left as it was. The home keeps using its own ledger; stop writers first, then use the copy:
  PostgreSQL: pki --home NEW join --database URL     SQLite: pki --home NEW restore FILE.db`,
    )
    .action(async (flags: { to: string }, cmd: Command) => {
      if (hasPassword(flags.to)) {
        throw new PkiError("usage", "--to must not contain a password: other users see the command line", "put the password in PGPASSWORD or ~/.pgpass", "SECRET_IN_ARGUMENTS");
      }
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const progress = delayedProgress("migrating");
        const r = await authority.migrate(ctx, flags.to, progress.update).finally(progress.end);
        if (opts.json) return printJson(r);
        print(`Copied the ledger to ${r.target} and verified it: ${r.rows.certificates} certificates, ${r.rows.crls} CRLs, ${r.events} events (chain and MACs), ${r.rows.settings} settings, ${r.rows.roles} roles.`);
        print(r.engine === "postgres" ? `Use it from a new home: pki --home NEW join --database '${r.target}'` : `Use it as a home: pki --home NEW restore ${r.target}`);
      });
    });
}
