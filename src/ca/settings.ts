// Operator settings kept in the ledger (`pki config set KEY VALUE`): each is validated here, so
// a value in the ledger is always one the code can use, and each change is an event.
import type { LedgerReader } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError, shown } from "./errors.js";

export interface SettingSpec {
  /** What `pki config list` says about it. */
  description: string;
  /** The value used when none is set, in the form `set` accepts. */
  defaultValue: string | null;
  /** Returns the canonical form stored in the ledger, or throws PkiError("usage"). */
  normalize(value: string): string;
}

/**
 * Default CRL lifetime (the `crl-lifetime` setting overrides it). nginx refuses every client
 * once `ssl_crl` is past its nextUpdate, so this must comfortably exceed how often the CRL is
 * regenerated (a weekly timer leaves three weeks of slack) while keeping a revoked
 * certificate's window bounded.
 */
export const DEFAULT_CRL_DAYS = 30;

const MINUTE = 60;
const DAY = 86_400;

/** Durations as people write them: `90s`, `15m`, `12h`, `7d` (seconds when unitless). */
export function parseDuration(value: string): number {
  const m = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (!m) throw new PkiError("usage", `"${shown(value)}" is not a duration like 90s, 15m, 12h or 7d`, undefined, "BAD_SETTING");
  return Number(m[1]) * { "": 1, s: 1, m: MINUTE, h: 3600, d: DAY }[m[2] as "" | "s" | "m" | "h" | "d"];
}

export function formatDuration(seconds: number): string {
  for (const [unit, size] of [["d", DAY], ["h", 3600], ["m", MINUTE]] as const) if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

function duration(min: number, max: number, what: string): (v: string) => string {
  return (v) => {
    const s = parseDuration(v);
    if (s < min || s > max) {
      throw new PkiError("usage", `${what} must be between ${formatDuration(min)} and ${formatDuration(max)}, not ${shown(v)}`, undefined, "BAD_SETTING");
    }
    return formatDuration(s);
  };
}

export const SETTINGS = {
  url: {
    description: "public base URL of `pki serve --http`; certificates issued from then on name OCSP at {url}/ocsp, the root at {url}/ca.der and the CRL at {url}/crl.der",
    defaultValue: null,
    normalize: (v: string) => {
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        throw new PkiError("usage", `"${shown(v)}" is not a URL like http://ca.example:8080`, undefined, "BAD_SETTING");
      }
      // RFC 5019 / RFC 5280: OCSP and CRL distribution URIs are plain http (no TLS chicken-and-egg).
      if (u.protocol !== "http:" || u.search || u.hash || u.username || u.password) {
        throw new PkiError("usage", `the CA URL must be plain http:// without query, fragment or credentials, not ${shown(v)}`, "OCSP and CRL clients fetch over plain HTTP (RFC 5019 section 5)", "BAD_SETTING");
      }
      return u.href.replace(/\/+$/, "");
    },
  },
  "crl-lifetime": {
    description: "how long each CRL is valid (its nextUpdate); `pki serve` republishes when a third of it remains",
    defaultValue: `${DEFAULT_CRL_DAYS}d`,
    normalize: duration(60, 3650 * DAY, "crl-lifetime"),
  },
  "ocsp-lifetime": {
    description: "how long an OCSP answer stays valid (its nextUpdate), and so how long a server that caches it may miss a revocation",
    // Short, because nginx's ssl_ocsp_cache keeps a "good" answer until its nextUpdate.
    defaultValue: "5m",
    normalize: duration(60, 7 * DAY, "ocsp-lifetime"),
  },
  "ocsp-signer-lifetime": {
    description: "how long the responder certificate of `pki serve --ocsp-signer delegated` is valid; serve issues the next one when a third of it remains",
    // Short: its key lives only in serve's memory, and nocheck means no one can revoke it in practice.
    defaultValue: "7d",
    normalize: duration(60, 90 * DAY, "ocsp-signer-lifetime"),
  },
} satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;

export function settingKey(key: string): SettingKey {
  if (key in SETTINGS) return key as SettingKey;
  throw new PkiError("usage", `unknown setting "${shown(key)}"; known: ${Object.keys(SETTINGS).join(", ")}`, undefined, "UNKNOWN_SETTING");
}

/** The effective value: the ledger's, else the default (null when a setting has none). */
export async function settingValue(r: LedgerReader, key: SettingKey): Promise<string | null> {
  return (await r.setting(`config.${key}`)) ?? SETTINGS[key].defaultValue;
}

export type SettingValues = Record<SettingKey, string | null>;

/** Every setting's effective value, read at once. */
export async function settingValues(r: LedgerReader): Promise<SettingValues> {
  const out = {} as SettingValues;
  for (const key of Object.keys(SETTINGS) as SettingKey[]) out[key] = await settingValue(r, key);
  return out;
}

/** A duration setting in seconds. */
export async function durationSetting(r: LedgerReader, key: "crl-lifetime" | "ocsp-lifetime" | "ocsp-signer-lifetime"): Promise<number> {
  return parseDuration((await settingValue(r, key))!);
}

export interface SettingView {
  key: SettingKey;
  value: string | null;
  isDefault: boolean;
  description: string;
}

export async function listSettings(r: LedgerReader): Promise<SettingView[]> {
  const views: SettingView[] = [];
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const stored = await r.setting(`config.${key}`);
    views.push({ key, value: stored ?? SETTINGS[key].defaultValue, isDefault: stored === undefined, description: SETTINGS[key].description });
  }
  return views;
}

/** Sets (or with null, resets to the default) a setting, recorded as an event. */
export async function setSetting(core: CaCore, ctx: Context, key: SettingKey, value: string | null): Promise<SettingView> {
  const stored = value === null ? null : SETTINGS[key].normalize(value);
  await core.change(ctx, async (tx) => {
    await tx.setSetting(`config.${key}`, stored);
    await tx.appendEvent(core.event(ctx, "config-set", null, { key, value: stored }));
  });
  return (await core.ledger.read((r) => listSettings(r))).find((s) => s.key === key)!;
}
