import assert from "node:assert/strict";
import { after, test } from "node:test";
import { initHome, pki } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);

test("an 80 KB name is echoed cut to about 100 characters, in the label as in the message", () => {
  const huge = "a".repeat(80_000);
  for (const args of [["issue-client", huge], ["show", huge], ["revoke", huge]]) {
    const r = pki(home, args);
    assert.notEqual(r.status, 0);
    assert.ok(r.stderr.length < 400, `${args[0]}: ${r.stderr.length} characters on stderr`);
    assert.match(r.stderr, /a…/);
  }
});
