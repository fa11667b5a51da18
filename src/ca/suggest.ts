import type { LedgerReader } from "../ledger/ledger.js";
import { PkiError, shown } from "./errors.js";
import { nameKey } from "./names.js";

/** The not-found error for a name (or a name or serial), with a near name when there is one. */
export async function notFound(r: LedgerReader, target: string, what: "name" | "name or serial" = "name or serial"): Promise<PkiError> {
  const near = await nearestName(r, target);
  const listing = what === "name" ? "pki list shows the names" : "pki list shows names and serials";
  const message = what === "name" ? `no certificate named "${shown(target)}"` : `no certificate with name or serial "${shown(target)}"`;
  return new PkiError("not-found", message, near === null ? listing : `did you mean "${near}"? (${listing})`, "NOT_FOUND");
}

/**
 * The known name closest to `target` (case-insensitive edit distance, a transposition
 * counting once), or null when none is close: at most 1 edit for names up to 5
 * characters, 2 beyond, only a difference of case for 1- and 2-letter names.
 */
export async function nearestName(r: LedgerReader, target: string): Promise<string | null> {
  const wantedKey = nameKey(target);
  const wanted = [...wantedKey];
  if (wanted.length === 0 || wanted.length > 256) return null;
  const limit = wanted.length <= 2 ? 0 : wanted.length <= 5 ? 1 : 2;
  let best: { key: string; distance: number } | null = null;
  // Folded names straight from their index: on a million names this read is most of the cost (about 0.8 s).
  for (const key of await r.nameKeys(Math.max(1, wanted.length - limit), wanted.length + limit)) {
    const d = editDistance(wanted, [...key], best ? best.distance : limit);
    if (d === null) continue;
    if (!best || d < best.distance || (d === best.distance && key < best.key)) best = { key, distance: d };
  }
  if (!best) return null;
  const name = await r.nameWithKey(best.key);
  return name === undefined || name === target ? null : name;
}

/** Optimal string alignment distance between `a` and `b`, or null once it must exceed `max`. */
export function editDistance(a: readonly string[], b: readonly string[], max: number): number | null {
  if (Math.abs(a.length - b.length) > max) return null;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > max) return null;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]! <= max ? prev[b.length]! : null;
}
