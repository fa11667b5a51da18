// A released hold reaches OCSP clients of a running `pki serve` at once: its answers follow the
// ledger's head event, and unrevoke appends one.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { initHome, openssl, pkiJson } from "../helpers.js";
import { type Served, startServe } from "./helpers.js";

let home: string;
let cleanup: () => void;
let served: Served;

before(async () => {
  ({ home, cleanup } = initHome());
  pkiJson(home, ["issue-client", "frank"]);
  served = await startServe(home);
});
after(async () => {
  await served?.stop();
  cleanup();
});

function ocsp(name: string): string {
  const r = openssl(["ocsp", "-issuer", join(home, "ca.pem"), "-cert", join(home, "certs", `${name}.pem`), "-url", `${served.url}/ocsp`, "-CAfile", join(home, "ca.pem"), "-no_nonce"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /Response verify OK/);
  return r.stdout;
}

test("held: OCSP says revoked (certificateHold); after pki unrevoke: good", () => {
  assert.match(ocsp("frank"), /frank\.pem: good/);
  pkiJson(home, ["revoke", "frank", "--reason", "certificateHold"]);
  const held = ocsp("frank");
  assert.match(held, /frank\.pem: revoked/);
  assert.match(held, /Reason: certificateHold/);
  pkiJson(home, ["unrevoke", "frank"]);
  assert.match(ocsp("frank"), /frank\.pem: good/);
});
