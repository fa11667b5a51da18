// Writes dist/bundle/help.json: `pki --help` and every command's `--help` exactly as the CLI
// prints them to a pipe, so that bin/pki's first step (fast-client.ts) prints them without
// loading the CLI. Run after tsc and the bundle; replaced atomically like the bundle's files.
import { renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const outdir = resolve(process.argv[2] ?? "dist/bundle");
const from = (path) => import(pathToFileURL(resolve("dist/src/cli", path)).href);
const [{ withIo }, { runCli }, { buildProgram }] = await Promise.all([from("io.js"), from("run.js"), from("program.js")]);

const keys = [""];
for (const c of buildProgram(() => {}).commands) {
  keys.push(c.name());
  for (const sub of c.commands) keys.push(`${c.name()} ${sub.name()}`);
}
const texts = {};
for (const key of keys) {
  let out = "";
  const io = { stdout: { isTTY: false, write: (s) => void (out += s) }, stderr: { isTTY: false, write: () => {} }, env: {}, cwd: process.cwd(), canPrompt: false, exitCode: undefined };
  const code = await withIo(io, () => runCli([...key.split(" ").filter(Boolean), "--help"]));
  if (code !== 0) throw new Error(`pki ${key} --help exited ${code}`);
  texts[key] = out;
}
const staged = `${outdir}/help.json.${process.pid}.tmp`;
writeFileSync(staged, JSON.stringify(texts));
renameSync(staged, `${outdir}/help.json`);
