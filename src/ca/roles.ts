// Who may do what through `pki serve --api`: an admin issues, lists, shows and revokes anything;
// every other certificate of this CA may only renew itself. Roles are kept in the ledger per
// name (so a renewal keeps its role), and each change is an event.
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { nameKey, validateName } from "./names.js";
import { notFound } from "./suggest.js";

/** What `pki role set` takes: a role, or "none" to take it away. */
export const ROLE_CHOICES = ["admin", "none"] as const;
export type RoleChoice = (typeof ROLE_CHOICES)[number];

export interface RoleChange {
  name: string;
  role: RoleChoice;
  previous: RoleChoice;
}

export function roleChoice(value: string): RoleChoice {
  if ((ROLE_CHOICES as readonly string[]).includes(value)) return value as RoleChoice;
  throw new PkiError("usage", `"${shown(value)}" is not a role; roles: ${ROLE_CHOICES.join(", ")}`, undefined, "UNKNOWN_ROLE");
}

/**
 * Gives `name` a role, or takes it away with "none". Only a name with a certificate can be made
 * admin (a typo would otherwise wait for whoever is issued that name later); "none" works on any
 * name, so a stale role can always be removed.
 */
export async function setRole(core: CaCore, ctx: Context, name: string, choice: RoleChoice): Promise<RoleChange> {
  const wanted = validateName(name);
  return core.change(ctx, async (tx) => {
    // Names compare folded (Alice is alice), as everywhere else.
    const stored = await tx.nameWithKey(nameKey(wanted));
    const holder = stored === undefined ? undefined : await tx.latestByName(stored);
    if (holder?.kind === "root") throw new PkiError("invalid", `"${shown(wanted)}" is the root CA, which never connects as a client`, undefined, "ROOT_REFUSED");
    if (!holder && choice !== "none") throw await notFound(tx, wanted, "name");
    const canonical = holder?.name ?? wanted;
    const previous: RoleChoice = (await tx.role(canonical)) ?? "none";
    if (previous !== choice) {
      await tx.setRole(canonical, choice === "none" ? null : choice);
      await tx.appendEvent(core.event(ctx, "role-set", null, { name: canonical, role: choice, previous }));
    }
    return { name: canonical, role: choice, previous };
  });
}
