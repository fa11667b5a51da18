// Which command lines `pki serve` runs for the CLI, decided from argv alone (no commander):
// the tiny client asks before loading anything, and the server asks again before running.

/**
 * Commands that go through a running `pki serve`. Not: serve, init-root, restore, backup,
 * trust, passphrase, check, audit, doctor, hook, role, config set/unset, server-config, export-key
 * and export-mobileconfig (they prompt, change the key, the home or the CA's policy under the
 * server, or write files elsewhere on this machine); they always run directly.
 */
export const SERVED_COMMANDS: readonly string[] = [
  "issue-client", "issue-server", "show", "list", "revoke", "unrevoke", "renew", "crl", "export-cert", "export-p12",
  "config list", "config get",
];

/** Global options that take a value (commander accepts them before and after the command). */
const GLOBAL_VALUES = new Set(["--home", "--database", "--passphrase-file"]);
/** Any of these makes the command run directly: help and version text, another ledger, a passphrase asked for explicitly. */
const DIRECT_FLAGS = ["-h", "--help", "-V", "--version", "--database", "--passphrase-file"];

export interface ScannedArgv {
  /** The command as SERVED_COMMANDS names it ("config list"), or null. */
  command: string | null;
  /** --home's value, if given. */
  home: string | undefined;
  flags: Set<string>;
}

export function scanArgv(argv: readonly string[]): ScannedArgv {
  const end = argv.indexOf("--");
  const args = end === -1 ? argv : argv.slice(0, end);
  const words: string[] = [];
  const flags = new Set<string>();
  let home: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("-") || a === "-") {
      words.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const flag = a.startsWith("--") && eq !== -1 ? a.slice(0, eq) : a;
    flags.add(flag);
    if (GLOBAL_VALUES.has(flag)) {
      const value = eq !== -1 && a.startsWith("--") ? a.slice(eq + 1) : args[++i];
      if (flag === "--home") home = value;
    }
  }
  const first = words[0];
  const command = first === "config" && words[1] !== undefined ? `config ${words[1]}` : (first ?? null);
  return { command, home, flags };
}

/**
 * The command to send to the server, or null to run directly. `canPrompt`: the client's
 * terminal could be asked something, so commands that would ask run directly.
 */
export function servedCommand(argv: readonly string[], env: Record<string, string | undefined>, canPrompt: boolean): string | null {
  const { command, flags } = scanArgv(argv);
  if (command === null || !SERVED_COMMANDS.includes(command)) return null;
  if (DIRECT_FLAGS.some((f) => flags.has(f))) return null;
  if (canPrompt) {
    const passwordGiven = flags.has("--password-file") || Boolean(env.PKI_P12_PASSWORD);
    if (command === "revoke" && !flags.has("-y") && !flags.has("--yes")) return null;
    if (command === "export-p12" && !passwordGiven) return null;
    if (command === "issue-client" && flags.has("--p12") && !passwordGiven) return null;
  }
  return command;
}

/** What the client sends of its environment: what served commands read, never the CA passphrase. */
export function servedEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if ((k.startsWith("PKI_") && !k.startsWith("PKI_PASSPHRASE")) || k === "NO_COLOR" || k === "TERM" || k === "CI" || k === "PATH") out[k] = v;
  }
  return out;
}
