import { after, before } from "node:test";
import { openLedger } from "../../src/ledger/open.js";
import { ledgerContract } from "../ledger-contract.js";
import { type PgCluster, startCluster } from "../postgres-cluster.js";

let cluster: PgCluster;
before(() => {
  cluster = startCluster();
});
after(() => cluster.remove());

ledgerContract("postgres", async () => {
  const url = await cluster.createDatabase();
  const ledger = await openLedger(url, { create: true });
  return {
    ledger,
    reopen: () => openLedger(url),
    cleanup: () => ledger.close(),
  };
});
