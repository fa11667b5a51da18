import { lstatSync, readdirSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { allPages } from "../ledger/ledger.js";
import type { Finding } from "./check.js";
import type { CaCore } from "./core.js";
import { TEMP_FILE } from "./home.js";

/** Every path below `dir`, without following symbolic links (a link to / must not make check walk the disk). */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    out.push(p);
    try {
      if (lstatSync(p).isDirectory()) out.push(...listTree(p));
    } catch {
      /* vanished meanwhile */
    }
  }
  return out;
}

/** Symbolic links inside the home: keys would be written, and modes changed, wherever they point. */
export function checkLinks(homeDir: string): Finding[] {
  const links = listTree(homeDir).filter((p) => {
    try {
      return lstatSync(p).isSymbolicLink();
    } catch {
      return false;
    }
  });
  return links.map((p) => ({
    check: "files",
    level: "error",
    message: `${p} is a symbolic link inside the CA home; pki refuses to write through it`,
    fix: `replace it with a real ${p.endsWith(".pem") || p.endsWith(".key") ? "file" : "folder"} (rm ${p}, then pki check --repair)`,
  }));
}

/** Events whose details name a file pki wrote outside its own folders. */
const EXPORT_ACTIONS = new Set(["exported", "key-exported", "crl-exported"]);

/**
 * Temporary files an interrupted pki left in the home and in the folders it exported to
 * (export events are committed before the exported file is written, so a kill cannot hide
 * one): an `export-key --unencrypted` temp file holds a private key in the clear.
 */
export async function checkTempFiles(core: CaCore, repair: boolean): Promise<Finding[]> {
  const exported = new Map<string, Set<string>>();
  await core.ledger.read(async (r) => {
    for await (const e of allPages((page) => r.events(page))) {
      const file = e.details.file ?? e.details.out;
      if (!EXPORT_ACTIONS.has(e.action) || typeof file !== "string" || !file.startsWith("/")) continue;
      const names = exported.get(dirname(file)) ?? new Set<string>();
      exported.set(dirname(file), names.add(basename(file)));
    }
  });
  const stray = listTree(core.home.dir).filter((p) => TEMP_FILE.test(p));
  for (const [dir, names] of exported) {
    if (dir === core.home.dir || dir.startsWith(`${core.home.dir}/`)) continue;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const e of entries) {
      const of = /^\.(.*)\.tmp-[0-9a-f]{12}$/.exec(e)?.[1];
      if (of !== undefined && names.has(of)) stray.push(join(dir, e));
    }
  }
  return stray.map((p) => {
    if (repair) unlinkSync(p);
    return {
      check: "files",
      level: "warning",
      message: repair ? `removed ${p}, left over from an interrupted pki process` : `${p} is left over from an interrupted pki process (it may hold a private key)`,
      fix: "run: pki check --repair",
      repaired: repair,
    };
  });
}
