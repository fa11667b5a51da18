// Run as a script by the bench fixtures (node dist/test/bench/reanchor.js HOME, with
// PKI_PASSPHRASE set): rows inserted with SQL stand in for revocations made one by one, so the
// fixture, holding the passphrase like the CA holder, anchors the state it built. Without it the
// first pki change on the fixture would rightly refuse a ledger whose revocations no event vouches for.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { historyKeyFromPkcs8 } from "../../src/crypto/history-key.js";
import { decryptPrivateKey } from "../../src/crypto/sealing.js";
import { ANCHOR_FILE, HistoryAuthenticator, makeAnchor, rolesByName, revocationDigest } from "../../src/ca/history.js";
import { SqliteLedger } from "../../src/ledger/sqlite/engine.js";

const home = process.argv[2]!;
const ledger = SqliteLedger.open(join(home, "ledger.db"));
try {
  const anchor = await ledger.read(async (r) => {
    const root = (await r.activeRoot())!;
    const auth = new HistoryAuthenticator(historyKeyFromPkcs8(await decryptPrivateKey(root.keyEncrypted!, process.env.PKI_PASSPHRASE!)));
    const id = await r.headEventId();
    const head = (await r.event(id))!;
    return makeAnchor(auth, { event: id, hash: head.hash, crl: (await r.nextCrlNumber()) - 1, revoked: revocationDigest(auth.key, await r.revokedEntries()), settings: Object.fromEntries(await r.settings()), roles: rolesByName(await r.roles()) });
  });
  writeFileSync(join(home, ANCHOR_FILE), JSON.stringify(anchor) + "\n", { mode: 0o600 });
} finally {
  await ledger.close();
}
