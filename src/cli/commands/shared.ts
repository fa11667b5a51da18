import { InvalidArgumentError, type Command } from "commander";
import type { Authority } from "../../ca/authority.js";
import { authorityOptions, globals, type GlobalOptions } from "../context.js";

/** Opens the home's authority (loaded lazily: --help never pays for crypto), runs `fn`, closes. */
export async function withAuthority<T>(cmd: Command, fn: (authority: Authority, opts: GlobalOptions) => Promise<T>): Promise<T> {
  const opts = globals(cmd);
  const { Authority } = await import("../../ca/authority.js");
  const authority = Authority.open(authorityOptions(opts));
  try {
    return await fn(authority, opts);
  } finally {
    authority.close();
  }
}

export function parseDays(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number of days");
  return Number(value);
}

export const KEY_CHOICES = ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"];
