import type { CaCore } from "./core.js";

/** Settings key of the shell command run after every CRL change (e.g. "nginx -s reload"). */
export const CRL_HOOK = "hooks.crl";

export function crlHook(core: CaCore): string | null {
  return core.ledger.setting(CRL_HOOK) ?? null;
}

/** Sets or clears (null) the after-CRL command, recorded as an event like every change. */
export async function setCrlHook(core: CaCore, command: string | null): Promise<void> {
  const now = core.now();
  await core.change(async () => {
    core.ledger.setSetting(CRL_HOOK, command);
    core.ledger.appendEvent(core.event(now, "hook-set", null, { hook: "crl", command }));
  });
}
