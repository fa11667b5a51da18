import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { PkiError } from "../../src/ca/errors.js";
import { parseIni } from "../../src/ca/ini.js";

const SEED_CLIENT_INI = `[ req ]
# Options for the \`req\` tool
distinguished_name	= req_distinguished_name
prompt			= no
default_md          = sha256

[ req_distinguished_name ]
C			= NL
O			= YourOrganisationFullName
CN			= TheUserName

[ client_extensions ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
`;

test("parses the seed page's client.ini: tabs, comments, sections", () => {
  const ini = parseIni(SEED_CLIENT_INI, "client.ini");
  assert.equal(ini.get("req", "distinguished_name")?.value, "req_distinguished_name");
  assert.equal(ini.get("req", "prompt")?.value, "no");
  assert.equal(ini.get("req_distinguished_name", "CN")?.value, "TheUserName");
  assert.equal(ini.get("client_extensions", "basicConstraints")?.value, "critical, CA:false");
  assert.equal(ini.get("client_extensions", "keyUsage")?.line, 14);
});

test("expands $var, ${var}, $(var), $section::var and $ENV::NAME; a later line overrides", () => {
  const ini = parseIni(
    `base = example.org
[ s ]
host = www
a = $host.$base
b = \${host}x
c = $(host)y
d = $s::host-z
e = $ENV::PKI_NAME
host = api
f = $host
`,
    "t.ini",
    { PKI_NAME: "alice" },
  );
  assert.equal(ini.get("s", "a")?.value, "www.example.org");
  assert.equal(ini.get("s", "b")?.value, "wwwx");
  assert.equal(ini.get("s", "c")?.value, "wwwy");
  assert.equal(ini.get("s", "d")?.value, "www-z");
  assert.equal(ini.get("s", "e")?.value, "alice");
  assert.equal(ini.get("s", "f")?.value, "api");
  assert.equal(ini.get("s", "host")?.value, "api");
});

test("quotes, escapes and continuation lines", () => {
  const ini = parseIni(`[ s ]\na = "x # not a comment"  # a comment\nb = 50\\$ and \\#1\nc = one \\\n  two\n`, "t.ini");
  assert.equal(ini.get("s", "a")?.value, "x # not a comment");
  assert.equal(ini.get("s", "b")?.value, "50$ and #1");
  assert.equal(ini.get("s", "c")?.value, "one   two");
});

test("syntax errors name the file and the line", () => {
  const cases: [string, RegExp][] = [
    ["[ ok ]\n[ broken\n", /^p\.ini:2: malformed section header/],
    ["[ s ]\nno equals sign here\n", /^p\.ini:2: expected "name = value"/],
    ["[ s ]\n\na = $undefined_var\n", /^p\.ini:3: variable undefined_var is not defined/],
    ["[ s ]\na = $ENV::HOME\n", /^p\.ini:2: variable ENV::HOME is not defined/],
    ['[ s ]\na = "open\n', /^p\.ini:2: unterminated " quote/],
    [".include other.cnf\n", /^p\.ini:1: directives \(\.include, \.pragma\) are not supported/],
    ["[ s ]\nbad key! = 1\n", /^p\.ini:2: invalid name/],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => parseIni(text, "p.ini"), (e: unknown) => e instanceof PkiError && e.kind === "invalid" && why.test(e.message), text);
  }
});

test("syntax errors never echo the line: a secret file given as a profile is not printed", () => {
  for (const secret of ["correct horse battery staple", "[ hunter2hunter2", ".hunter2hunter2", "hunter2!hunter2 = x"]) {
    assert.throws(() => parseIni(`${secret}\n`, "p.ini"), (e: unknown) => e instanceof PkiError && /^p\.ini:1: /.test(e.message) && !e.message.includes("hunter2") && !e.message.includes("horse"), secret);
  }
});

const KEY = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.]{0,15}$/);
const VALUE = fc.string({ maxLength: 40 }).filter((v) => !/[\r\n]/.test(v));

/** How a writer must escape a value so OpenSSL reads it back verbatim. */
function escape(v: string): string {
  return v.replace(/[\\"'#$]/g, (c) => "\\" + c).replace(/^\s|\s$/g, (c) => "\\" + c);
}

test("property: escaped values round-trip through the parser", () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(KEY, VALUE), { selector: ([k]) => k, maxLength: 10 }), (pairs) => {
      const text = "[ sec ]\n" + pairs.map(([k, v]) => `${k} = ${escape(v)}`).join("\n") + "\n";
      const ini = parseIni(text, "p.ini");
      for (const [k, v] of pairs) assert.equal(ini.get("sec", k)?.value, v);
    }),
    { numRuns: 500 },
  );
});

test("property: arbitrary text either parses or fails with a file:line PkiError, never anything else", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      try {
        parseIni(text, "fuzz.ini");
      } catch (e) {
        assert.ok(e instanceof PkiError, String(e));
        assert.match(e.message, /^fuzz\.ini:\d+: /);
      }
    }),
    { numRuns: 2000 },
  );
});
