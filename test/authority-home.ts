// An Authority in a temporary home, driven in-process with a fake clock.
import { join } from "node:path";
import { Authority, type Context } from "../src/ca/authority.js";
import { Home } from "../src/ca/home.js";
import { Keyring } from "../src/crypto/keyring.js";
import { PASSPHRASE, ROOT, tempDir } from "./helpers.js";

export const TEMPLATES = join(ROOT, "templates");

export interface TestAuthority {
  home: Home;
  authority: Authority;
  keyring: Keyring;
  /** The fake clock: every call made through `at` happens at this time. */
  clock: { now: Date };
  ctx(actor?: string): Context;
  /** A fresh Authority on the same home, as a new process would open it. */
  reopen(): Promise<{ authority: Authority; keyring: Keyring }>;
  cleanup(): Promise<void>;
}

export async function testAuthority(start = new Date("2030-01-01T00:00:00.000Z")): Promise<TestAuthority> {
  const { dir, cleanup } = tempDir();
  const home = new Home(join(dir, "home"));
  const clock = { now: start };
  const ctx = (actor = "tester"): Context => ({ actor, now: clock.now });
  const open = async () => {
    const keyring = new Keyring(async () => PASSPHRASE);
    return { keyring, authority: await Authority.open({ home, templatesDir: TEMPLATES, passphrase: async () => PASSPHRASE, keyring }) };
  };
  try {
    await Authority.initRoot({ home, templatesDir: TEMPLATES, passphrase: async () => PASSPHRASE }, ctx("init"), { commonName: "In-process Root" });
  } catch (e) {
    cleanup();
    throw e;
  }
  const opened: Authority[] = [];
  const first = await open();
  opened.push(first.authority);
  return {
    home,
    ...first,
    clock,
    ctx,
    reopen: async () => {
      const next = await open();
      opened.push(next.authority);
      return next;
    },
    cleanup: async () => {
      for (const a of opened) await a.close();
      cleanup();
    },
  };
}
