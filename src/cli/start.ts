// What bin/pki runs first, one small CommonJS file (scripts/bundle.mjs): help text, the
// command through a running `pki serve`, or list and show read directly; null: load the full CLI.
import { runThroughServe } from "./fast-client.js";

export async function start(argv: string[]): Promise<number | null> {
  // Imported when needed, so that help text does not load SQLite.
  return (await runThroughServe(argv)) ?? (await (await import("./lean-read.js")).runLean(argv));
}
