import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { nameKey } from "../name-key.js";
import { MIGRATIONS } from "./migrations.js";

interface SchemaObject {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/**
 * Differences between the schema objects of the SQLite file at `path` and exactly those our
 * migrations create at its schema version: a trigger, view, table or index of anyone else (a
 * tampered backup's trigger that makes a revocation silently fail), or one of ours altered.
 * Reads only: no statement runs that a foreign trigger could fire on.
 */
export function schemaProblems(path: string): string[] {
  const db = openReadOnly(path);
  try {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version < 1 || version > MIGRATIONS.length) return [`schema version ${version} is not one pki writes (1 to ${MIGRATIONS.length})`];
    const expected = reference(version);
    const actual = objects(db);
    const problems: string[] = [];
    for (const [key, o] of actual) {
      const want = expected.get(key);
      if (!want) problems.push(`${o.type} "${o.name}" is not part of pki's schema`);
      else if (want.sql !== o.sql || want.tbl_name !== o.tbl_name) problems.push(`${o.type} "${o.name}" differs from pki's schema`);
    }
    for (const [key, o] of expected) if (!actual.has(key)) problems.push(`${o.type} "${o.name}" of pki's schema is missing`);
    return problems;
  } finally {
    db.close();
  }
}

function objects(db: Database.Database): Map<string, SchemaObject> {
  const rows = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master").all() as SchemaObject[];
  return new Map(rows.map((o) => [`${o.type} ${o.name}`, o]));
}

/** The schema our migrations build at `version`, in memory. */
function reference(version: number): Map<string, SchemaObject> {
  const db = new Database(":memory:");
  try {
    db.function("pki_name_key", { deterministic: true }, (name: unknown) => nameKey(String(name)));
    for (const step of MIGRATIONS.slice(0, version)) db.exec(step);
    return objects(db);
  } finally {
    db.close();
  }
}

/** The file as it is, without creating -wal or -shm files beside it (a backup may sit on read-only media). */
function openReadOnly(path: string): Database.Database {
  const image = readFileSync(path);
  // A WAL-mode header (bytes 18-19 = 2) would make SQLite look for a -wal file; a backup has none.
  if (image.length >= 20 && image[18] === 2 && image[19] === 2) image[18] = image[19] = 1;
  return new Database(image, { readonly: true });
}
