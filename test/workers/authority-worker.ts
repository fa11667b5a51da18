// One process of the multi-process authority test: opens the home given as argv[2], issues
// argv[4] certificates named argv[3]-N concurrently, revokes every third, then signs a CRL,
// and prints the serials it issued as JSON.
import { Authority } from "../../src/ca/authority.js";
import { Home } from "../../src/ca/home.js";
import { CrlReason } from "../../src/crypto/crl-reason.js";
import { PASSPHRASE } from "../helpers.js";
import { TEMPLATES } from "../authority-home.js";

const [home, prefix, count] = process.argv.slice(2);
const authority = await Authority.open({ home: new Home(home!), templatesDir: TEMPLATES, passphrase: async () => PASSPHRASE });
const ctx = () => ({ actor: prefix!, now: new Date() });
try {
  const names = Array.from({ length: Number(count) }, (_, i) => `${prefix}-${i}`);
  const issued = await Promise.all(names.map((name) => authority.issue(ctx(), { name, kind: "client" })));
  await Promise.all(names.filter((_, i) => i % 3 === 0).map((name) => authority.revoke(ctx(), name, CrlReason.cessationOfOperation)));
  await authority.generateCrl(ctx());
  process.stdout.write(JSON.stringify(issued.map((r) => r.view.serial)));
} finally {
  await authority.close();
}
