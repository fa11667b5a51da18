import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PASSPHRASE, ROOT, tempDir } from "../helpers.js";
import { exec, freePort, startUpstream, waitForPort } from "./harness.js";
import { spawn, type ChildProcess } from "node:child_process";

// Runs the README's "Protect a site with nginx in 5 minutes" block as written. Only its
// variable lines are changed (to a temporary home, a loopback port and this test's upstream),
// and `nginx`, `pki` and `curl` on PATH are wrappers for a private nginx instance, this
// checkout, and resolving localhost to 127.0.0.1.
const work = tempDir("pki-e2e-walkthrough-");
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let nginx: ChildProcess;

function walkthrough(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const m = /<!-- walkthrough:start -->\n```sh\n([\s\S]*?)```\n<!-- walkthrough:end -->/.exec(readme);
  assert.ok(m, "README has the walkthrough block");
  return m[1]!;
}

before(async () => {
  upstream = await startUpstream();
});
after(async () => {
  nginx?.kill("SIGTERM");
  await upstream?.close();
  work.cleanup();
});

test("the README walkthrough protects a site: 400 without a certificate, 200 with alice's .p12, refused after revoke", async () => {
  const dir = work.dir;
  const port = await freePort();
  const conf = join(dir, "pki-mtls.conf");
  writeFileSync(conf, "");
  // The main nginx.conf the walkthrough's $CONF is included from, like /etc/nginx/nginx.conf.
  const main = join(dir, "nginx.conf");
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${dir}/${t};`).join(" ");
  writeFileSync(main, `daemon off;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log info;\nuser root;\nevents { worker_connections 64; }\nhttp { access_log off; ${temp}\n include ${conf};\n server { listen 127.0.0.1:${await freePort()}; return 404; } }\n`);
  nginx = spawn("nginx", ["-c", main, "-p", dir], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 500));

  const values: Record<string, string> = {
    PKI_HOME: join(dir, "pki-clients"),
    SITE: "localhost",
    PORT: String(port),
    APP: `http://127.0.0.1:${upstream.port}`,
    CONF: conf,
    KEY: join(dir, "pki-server.key"),
  };
  let script = walkthrough();
  for (const [k, v] of Object.entries(values)) {
    const line = new RegExp(`^(export )?${k}=\\S+`, "m");
    assert.match(script, line, `the walkthrough sets ${k}`);
    script = script.replace(line, `$1${k}=${v}`);
  }
  // Wrappers on PATH (not shell functions) so that the CRL hook, run by /bin/sh, finds them too.
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "pki"), `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, "bin", "pki")} "$@"\n`, { mode: 0o755 });
  writeFileSync(join(bin, "nginx"), `#!/bin/sh\nexec ${(await exec("sh", ["-c", "command -v nginx"])).stdout.trim()} -c ${main} -p ${dir} "$@"\n`, { mode: 0o755 });
  writeFileSync(join(bin, "curl"), `#!/bin/sh\nexec ${(await exec("sh", ["-c", "command -v curl"])).stdout.trim()} --resolve localhost:${port}:127.0.0.1 "$@"\n`, { mode: 0o755 });
  const prelude = `set -euo pipefail\ncd ${dir}\n`;
  const r = await exec("bash", ["-c", prelude + script], { PATH: `${bin}:${process.env.PATH}`, PKI_PASSPHRASE: PASSPHRASE, PKI_P12_PASSWORD: "alice's p12" });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await waitForPort(port, "nginx from the walkthrough", join(dir, "error.log"));
  const out = r.stdout;
  const first = out.indexOf("400 No required SSL certificate was sent");
  const ok = out.indexOf("subject=CN=alice");
  const revoked = out.indexOf("The SSL certificate error (FAILED:certificate revoked)");
  assert.ok(first >= 0, out);
  assert.ok(ok > first, "then 200 with alice's subject from the application");
  assert.ok(revoked > ok, "then refused after pki revoke, without a manual reload");
});
