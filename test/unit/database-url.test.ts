import assert from "node:assert/strict";
import { test } from "node:test";
import { describeDatabase, hasPassword, isDatabaseUrl, sameDatabase, withoutPassword } from "../../src/ledger/postgres/url.js";

test("database URLs: which are PostgreSQL, and where a password hides", () => {
  assert.equal(isDatabaseUrl("postgres://db/pki"), true);
  assert.equal(isDatabaseUrl("postgresql://db/pki"), true);
  assert.equal(isDatabaseUrl("/srv/pki/ledger.db"), false);
  assert.equal(isDatabaseUrl("mysql://db/pki"), false);
  assert.equal(hasPassword("postgres://pki@db/pki"), false);
  assert.equal(hasPassword("postgres://pki:s3cret@db/pki"), true);
  assert.equal(hasPassword("postgres://pki@db/pki?password=s3cret"), true);
  assert.equal(hasPassword("postgres://pki@db/pki?sslkey=/k&sslpassword=s3cret"), true);
});

test("database URLs: the password never survives into what is stored or shown", () => {
  for (const url of ["postgres://pki:s3cret@db.internal:5433/ca?sslmode=verify-full", "postgres://pki@db.internal:5433/ca?password=s3cret&sslmode=verify-full&sslpassword=s3cret"]) {
    const stored = withoutPassword(url);
    assert.doesNotMatch(stored, /s3cret/);
    assert.match(stored, /^postgres:\/\/pki@db\.internal:5433\/ca\?.*sslmode=verify-full/);
    assert.equal(describeDatabase(url), "pki@db.internal:5433/ca");
    assert.equal(sameDatabase(url, stored), true);
  }
  assert.equal(withoutPassword("postgres://pki@db/ca"), "postgres://pki@db/ca");
  assert.equal(describeDatabase("postgresql://pki@localhost/ca?host=%2Frun%2Fpg&port=5444"), "pki@/run/pg:5444/ca");
  assert.equal(sameDatabase("postgres://pki@db/ca", "postgres://pki@db/other"), false);
  assert.equal(sameDatabase("postgres://pki@db/ca", "postgres://admin@db/ca"), false);
});
