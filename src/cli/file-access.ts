import { spawnSync } from "node:child_process";
import { type Command, InvalidArgumentError } from "commander";
import type { FileAccess } from "../ca/home.js";
import { toolEnvironment } from "../ca/trust/tools.js";
import { PkiError, shown } from "../ca/errors.js";

export interface AccessFlags {
  owner?: string;
  group?: string;
  mode?: number;
}

/** --owner, --group and --mode, for commands that write a file a server reads. */
export function accessOptions(cmd: Command): Command {
  return cmd
    .option("--owner <user>", "give the written file to USER (name or uid; needs root)")
    .option("--group <group>", "give the written file to GROUP (name or gid), e.g. the server's: postgres, mosquitto")
    .option("--mode <octal>", "the written file's mode, e.g. 0640 (default: kept from the file it replaces, else 0600 for keys, 0644 otherwise)", parseMode);
}

function parseMode(value: string): number {
  if (!/^0?[0-7]{3}$/.test(value)) throw new InvalidArgumentError("expected an octal mode like 0640");
  return parseInt(value, 8);
}

/** The numeric ids behind --owner and --group, looked up through NSS (getent), so LDAP users work too. */
export function fileAccess(flags: AccessFlags): FileAccess {
  return {
    ...(flags.owner !== undefined ? { uid: lookUp("passwd", flags.owner, "--owner") } : {}),
    ...(flags.group !== undefined ? { gid: lookUp("group", flags.group, "--group") } : {}),
    ...(flags.mode !== undefined ? { mode: flags.mode } : {}),
  };
}

function lookUp(database: "passwd" | "group", name: string, flag: string): number {
  if (/^\d{1,10}$/.test(name)) return Number(name);
  const what = database === "passwd" ? "user" : "group";
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(name)) throw new PkiError("usage", `${flag} "${shown(name)}" is not a ${what} name`, undefined, "NO_SUCH_ID");
  // getent loads NSS modules: they get no secret from pki's environment.
  const r = spawnSync("getent", [database, name], { encoding: "utf8", env: toolEnvironment() });
  const id = r.status === 0 ? /^[^:]*:[^:]*:(\d+):/.exec(r.stdout)?.[1] : undefined;
  if (id === undefined) throw new PkiError("usage", `${flag}: no ${what} "${shown(name)}" on this system`, `check the name (getent ${database} ${name}), or give a numeric id`, "NO_SUCH_ID");
  return Number(id);
}
