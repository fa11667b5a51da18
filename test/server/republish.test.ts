// The CRL never lapses: the service republishes when a third of the CRL's lifetime remains,
// with the crl-lifetime setting, checked in-process with a moved clock.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { Authority } from "../../src/ca/authority.js";
import { Home } from "../../src/ca/home.js";
import type { CrlResult } from "../../src/ca/revocation.js";
import { startServer } from "../../src/server/serve.js";
import { initHome, openssl, PASSPHRASE, pki, ROOT } from "../helpers.js";

const DAY = 86_400_000;

test("republishes before nextUpdate with the configured lifetime, once, and reports it", async () => {
  const { home, cleanup } = initHome();
  try {
    assert.equal(pki(home, ["config", "set", "crl-lifetime", "7d"]).status, 0);
    let now = new Date();
    const authority = await Authority.open({ home: new Home(home), templatesDir: join(ROOT, "templates"), passphrase: async () => PASSPHRASE });
    const service = await authority.serve({ actor: "test", now });
    const published: CrlResult[] = [];
    const lines: string[] = [];
    // The init-root CRL lives 30 days: fresh now, due once less than 10 days remain.
    const server = await startServer({ service, socketPath: join(home, "serve.sock"), log: (l) => lines.push(l), now: () => now, rssBytes: () => 0, onCrlPublished: (c) => void published.push(c) });
    assert.equal(published.length, 0, "a fresh CRL is left alone");
    await server.close();

    now = new Date(now.getTime() + 21 * DAY);
    const again = await startServer({ service, socketPath: join(home, "serve.sock"), log: (l) => lines.push(l), now: () => now, rssBytes: () => 0, onCrlPublished: (c) => void published.push(c) });
    await again.close();
    assert.equal(published.length, 1);
    assert.equal(published[0]!.number, 2);
    assert.equal(Date.parse(published[0]!.nextUpdate) - now.getTime(), 7 * DAY, "the crl-lifetime setting, not the 30-day default");
    assert.match(lines.join("\n"), /crl published number=2/);
    assert.equal(await service.republishCrlIfDue(now), null, "fresh again: nothing to do");
    // The file servers read is the new CRL, signed by the root.
    const crl = openssl(["crl", "-in", join(home, "crl.pem"), "-noout", "-crlnumber", "-CAfile", join(home, "ca.pem")]);
    assert.match(crl.stdout + crl.stderr, /crlNumber=0x02/);
    assert.match(crl.stdout + crl.stderr, /verify OK/);

    // A lapsed CRL (the service was down too long) is replaced at once.
    now = new Date(now.getTime() + 30 * DAY);
    assert.equal((await service.republishCrlIfDue(now))?.number, 3);
    await authority.close();
  } finally {
    cleanup();
  }
});
