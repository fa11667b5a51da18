import { existsSync, rmSync } from "node:fs";
import type { LedgerReader } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import type { Home } from "./home.js";

/** Settings key of the shell command run after every CRL change (e.g. "nginx -s reload"). */
export const CRL_HOOK = "hooks.crl";

/** The hook as stored; with `home`, the one this node runs (none while its hooks.off is there). */
export async function crlHook(r: LedgerReader, home?: Home): Promise<string | null> {
  if (home && existsSync(home.hooksOff)) return null;
  return (await r.setting(CRL_HOOK)) ?? null;
}

/** Sets or clears (null) the after-CRL command, recorded as an event like every change. */
export async function setCrlHook(core: CaCore, ctx: Context, command: string | null): Promise<void> {
  await core.change(ctx, async (tx) => {
    await tx.setSetting(CRL_HOOK, command);
    await tx.appendEvent(core.event(ctx, "hook-set", null, { hook: "crl", command }));
  });
  // Setting the hook on a node is its opt-in to running it.
  rmSync(core.home.hooksOff, { force: true });
}
