/**
 * Schema steps, applied in order and tracked by PRAGMA user_version. Never edit a shipped
 * step; append a new one. The ledger knows nothing of X.509: certificates are opaque DER blobs
 * with the few fields the CLI filters and sorts on copied into columns.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE certificates (
    serial        TEXT PRIMARY KEY,               -- lowercase hex, as openssl x509 -serial prints it
    name          TEXT NOT NULL,                  -- the handle users type: alice, api.internal, or the root's CN
    kind          TEXT NOT NULL CHECK (kind IN ('root', 'client', 'server')),
    subject       TEXT NOT NULL,
    not_before    TEXT NOT NULL,                  -- ISO 8601 UTC; text order is time order
    not_after     TEXT NOT NULL,
    der           BLOB NOT NULL,
    key_encrypted BLOB,                           -- encrypted PKCS#8, NULL when the key came from a CSR
    csr           BLOB,
    state         TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'revoked', 'superseded')),
    revoked_at    TEXT,
    revocation_reason INTEGER,
    superseded_by TEXT REFERENCES certificates(serial) DEFERRABLE INITIALLY DEFERRED,
    created_at    TEXT NOT NULL
  );
  -- At most one active certificate per name and kind: the rule behind "use renew".
  CREATE UNIQUE INDEX certificates_active_name ON certificates(kind, name) WHERE state = 'active';
  CREATE INDEX certificates_name ON certificates(name);
  CREATE INDEX certificates_not_after ON certificates(not_after);
  CREATE INDEX certificates_revoked ON certificates(revoked_at) WHERE state = 'revoked';

  CREATE TABLE crls (
    number      INTEGER PRIMARY KEY,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    der         BLOB NOT NULL
  );

  CREATE TABLE events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    serial    TEXT,
    details   TEXT NOT NULL,                       -- JSON; never holds a secret
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL                        -- sha256 over prev_hash and this row's fields
  );
  `,
  `
  -- Operator settings, e.g. the command run after every CRL change (hooks.crl).
  CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  `
  -- The CRL reads every revocation: a covering index in CRL order lets it read the index
  -- alone (no row lookups among the certificates' blobs, no sort), and replaces the narrower one.
  CREATE INDEX certificates_crl ON certificates(revoked_at, serial, revocation_reason) WHERE state = 'revoked';
  DROP INDEX certificates_revoked;
  `,
  `
  -- Names compare case-insensitively (name_key = nameKey(name), see name-key.ts; the
  -- migration fills it through the pki_name_key SQL function the ledger registers).
  -- Ledgers written before this step may hold two active certificates under one name:
  -- they must still open, so the rule is a trigger on new rows, not a unique index, and
  -- pki check --repair resolves the old pairs.
  ALTER TABLE certificates ADD COLUMN name_key TEXT;
  UPDATE certificates SET name_key = pki_name_key(name);
  CREATE INDEX certificates_name_key ON certificates(name_key, state);
  CREATE TRIGGER certificates_one_active_per_name BEFORE INSERT ON certificates
  WHEN NEW.state = 'active' AND EXISTS (SELECT 1 FROM certificates WHERE name_key = NEW.name_key AND state = 'active')
  BEGIN
    SELECT RAISE(ABORT, 'another active certificate has this name');
  END;
  `,
  `
  -- API roles (pki role set NAME admin): a role belongs to a name, compared folded like names
  -- (name_key), so it survives renewals; a name without a row has no role.
  CREATE TABLE roles (
    name_key TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('admin'))
  );
  `,
  `
  -- Authenticated history: each event's MAC over its hash, made with a key derived from the CA
  -- key (src/crypto/history-key.ts). Events written before this step have none: the first change
  -- made with the CA key seals them with a "history-sealed" event (src/ca/history.ts).
  ALTER TABLE events ADD COLUMN mac TEXT;
  `,
  `
  -- Root rotation (pki rotate-root): the root that signed each certificate and each CRL (a root
  -- names itself), and when an old root was retired. Ledgers from before had one root: it signed
  -- everything. CRL numbers stay one sequence across roots (RFC 5280 5.2.3 asks each issuer's
  -- numbers to increase, which a shared sequence does).
  ALTER TABLE certificates ADD COLUMN issuer TEXT;
  ALTER TABLE certificates ADD COLUMN retired_at TEXT;
  ALTER TABLE crls ADD COLUMN issuer TEXT;
  UPDATE certificates SET issuer = (SELECT serial FROM certificates WHERE kind = 'root' ORDER BY created_at, rowid LIMIT 1);
  UPDATE crls SET issuer = (SELECT serial FROM certificates WHERE kind = 'root' ORDER BY created_at, rowid LIMIT 1);
  CREATE INDEX certificates_issuer ON certificates(issuer, state, not_after);
  CREATE INDEX crls_issuer ON crls(issuer, number);
  `,
  `
  -- The roots, found without reading every certificate: list, show and every issuance look them
  -- up, and without this index each lookup scanned the whole table (1.7 s at 1,000,000 rows).
  CREATE INDEX certificates_roots ON certificates(created_at) WHERE kind = 'root';
  `,
];
