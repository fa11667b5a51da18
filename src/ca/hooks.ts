import type { LedgerReader } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";

/** Settings key of the shell command run after every CRL change (e.g. "nginx -s reload"). */
export const CRL_HOOK = "hooks.crl";

export async function crlHook(r: LedgerReader): Promise<string | null> {
  return (await r.setting(CRL_HOOK)) ?? null;
}

/** Sets or clears (null) the after-CRL command, recorded as an event like every change. */
export async function setCrlHook(core: CaCore, ctx: Context, command: string | null): Promise<void> {
  await core.change(ctx, async (tx) => {
    await tx.setSetting(CRL_HOOK, command);
    await tx.appendEvent(core.event(ctx, "hook-set", null, { hook: "crl", command }));
  });
}
