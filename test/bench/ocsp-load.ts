// The OCSP load generator, run as its own process by the OCSP scenario:
//   node ocsp-load.js BASE_URL get|post REQUESTS_FILE SECONDS CONNECTIONS
// Each of CONNECTIONS loops sends one request per connection ("Connection: close"), as nginx
// and Apache do when they ask a responder, cycling through the requests, until SECONDS pass.
// Prints {"responses", "seconds", "p50Ms", "p99Ms", "errors"} on stdout. Loopback only.
import { request } from "node:http";
import { readFileSync } from "node:fs";

const [base, mode, file, secondsArg, connectionsArg] = process.argv.slice(2);
const url = new URL(base!);
if (url.hostname !== "127.0.0.1") throw new Error("ocsp-load targets 127.0.0.1 only");
const requests = JSON.parse(readFileSync(file!, "utf8")) as { get: string[]; post: string[] };
const bodies = requests.post.map((b) => Buffer.from(b, "base64"));
const deadline = performance.now() + Number(secondsArg) * 1000;
const latencies: number[] = [];
let errors = 0;

function once(i: number): Promise<void> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const post = mode === "post";
    const req = request(
      {
        host: "127.0.0.1",
        port: url.port,
        method: post ? "POST" : "GET",
        path: post ? url.pathname : `${url.pathname}${requests.get[i % requests.get.length]}`,
        headers: { connection: "close", ...(post ? { "content-type": "application/ocsp-request" } : {}) },
        agent: false,
      },
      (res) => {
        let size = 0;
        res.on("data", (c: Buffer) => (size += c.length));
        res.on("end", () => {
          if (res.statusCode === 200 && size > 0) latencies.push(performance.now() - t0);
          else errors++;
          resolve();
        });
      },
    );
    req.on("error", () => (errors++, resolve()));
    req.end(post ? bodies[i % bodies.length] : undefined);
  });
}

async function loop(offset: number): Promise<void> {
  for (let i = offset; performance.now() < deadline; i += 7919) await once(i);
}

const started = performance.now();
await Promise.all(Array.from({ length: Number(connectionsArg) }, (_, c) => loop(c * 31)));
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
process.stdout.write(JSON.stringify({ responses: latencies.length, seconds, p50Ms: q(0.5), p99Ms: q(0.99), errors }) + "\n");
