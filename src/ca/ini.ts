import { PkiError } from "./errors.js";

export interface IniEntry {
  key: string;
  value: string;
  line: number;
  /** The `$ENV::` variable whose value brought a list separator ("," or ":") into `value`, if any. */
  listSeparatorFrom?: string;
}

/** A parsed OpenSSL configuration file: sections of ordered entries, variables already expanded. */
export class IniFile {
  constructor(
    readonly file: string,
    readonly sections: ReadonlyMap<string, readonly IniEntry[]>,
  ) {}

  /** The last value of `key` in `section` (OpenSSL lets a later line override an earlier one). */
  get(section: string, key: string): IniEntry | undefined {
    const entries = this.sections.get(section);
    if (!entries) return undefined;
    for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.key === key) return entries[i];
    return undefined;
  }

  section(name: string): readonly IniEntry[] | undefined {
    return this.sections.get(name);
  }

  /** A PkiError pointing at `file:line`. */
  error(line: number, message: string): PkiError {
    return new PkiError("invalid", `${this.file}:${line}: ${message}`);
  }
}

/** The unnamed top of the file, which OpenSSL calls "default". */
export const DEFAULT_SECTION = "default";

/**
 * Parses OpenSSL's config syntax (https://docs.openssl.org/3.0/man5/config/): `[ section ]`,
 * `name = value`, `#` comments, quotes, backslash escapes and continuation lines, and the
 * variable forms `$var`, `${var}`, `$(var)`, `$section::var`. `$ENV::NAME` reads from `env`
 * (the caller decides what is visible), never from the process environment.
 */
export function parseIni(text: string, file: string, env: Readonly<Record<string, string>> = {}): IniFile {
  const sections = new Map<string, IniEntry[]>([[DEFAULT_SECTION, []]]);
  let current = DEFAULT_SECTION;
  const rawLines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const fail = (line: number, message: string) => new PkiError("invalid", `${file}:${line}: ${message}`);

  for (let i = 0; i < rawLines.length; i++) {
    const lineNo = i + 1;
    let line = rawLines[i]!;
    // A backslash at the very end joins the next line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < rawLines.length) {
      line = line.slice(0, -1) + rawLines[++i]!;
    }
    const body = trimUnescaped(stripComment(line));
    if (body === "") continue;
    if (body.startsWith("[")) {
      const m = /^\[\s*([A-Za-z0-9_.:-]+)\s*\]$/.exec(body);
      // Messages name the line, never its text: a secret file passed as a profile must not be printed.
      if (!m) throw fail(lineNo, "malformed section header (expected [ name ])");
      current = m[1]!;
      if (!sections.has(current)) sections.set(current, []);
      continue;
    }
    if (body.startsWith(".")) throw fail(lineNo, "directives (.include, .pragma) are not supported (inline the included file)");
    const eq = body.indexOf("=");
    if (eq <= 0) throw fail(lineNo, 'expected "name = value"');
    const key = body.slice(0, eq).trim();
    if (!/^[A-Za-z0-9_.;,:-]+$/.test(key)) throw fail(lineNo, "invalid name before \"=\" (letters, digits and _ . ; , : -)");
    let listSeparatorFrom: string | undefined;
    const value = expand(body.slice(eq + 1).trimStart(), (section, name) => {
      if (section === "ENV") {
        if (/[,:]/.test(env[name] ?? "")) listSeparatorFrom ??= name;
        return env[name];
      }
      const entries = sections.get(section ?? current);
      const found = entries && [...entries].reverse().find((e) => e.key === name);
      if (found) return found.value;
      if (section === undefined) return [...sections.get(DEFAULT_SECTION)!].reverse().find((e) => e.key === name)?.value;
      return undefined;
    }, (message) => fail(lineNo, message));
    sections.get(current)!.push({ key, value, line: lineNo, ...(listSeparatorFrom ? { listSeparatorFrom } : {}) });
  }
  return new IniFile(file, sections);
}

/** Trims white space at both ends, keeping a trailing one that is escaped ("a\\ "). */
function trimUnescaped(text: string): string {
  let end = text.length;
  while (end > 0 && /\s/.test(text[end - 1]!)) {
    let slashes = 0;
    while (end - 2 - slashes >= 0 && text[end - 2 - slashes] === "\\") slashes++;
    if (slashes % 2 === 1) break;
    end--;
  }
  return text.slice(0, end).trimStart();
}

/** Removes an unescaped, unquoted `#` and what follows. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "\\") {
      i++;
      continue;
    }
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === "#") {
      return line.slice(0, i);
    }
  }
  return line;
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", b: "\b", t: "\t" };

/** Expands escapes, quotes and variables in a value. */
function expand(
  raw: string,
  lookup: (section: string | undefined, name: string) => string | undefined,
  fail: (message: string) => PkiError,
): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "\\" && i + 1 < raw.length) {
      const n = raw[++i]!;
      out += ESCAPES[n] ?? n;
    } else if (c === '"' || c === "'") {
      const end = raw.indexOf(c, i + 1);
      if (end < 0) throw fail(`unterminated ${c} quote`);
      out += raw.slice(i + 1, end);
      i = end;
    } else if (c === "$") {
      const m = /^\$(?:\{([A-Za-z0-9_]+)(?:::([A-Za-z0-9_]+))?\}|\(([A-Za-z0-9_]+)(?:::([A-Za-z0-9_]+))?\)|([A-Za-z0-9_]+)(?:::([A-Za-z0-9_]+))?)/.exec(raw.slice(i));
      if (!m) throw fail(`"$" must start a variable such as $name or $ENV::NAME (write \\$ for a literal $)`);
      const first = m[1] ?? m[3] ?? m[5]!;
      const second = m[2] ?? m[4] ?? m[6];
      const [section, name] = second !== undefined ? [first, second] : [undefined, first];
      const value = lookup(section, name);
      if (value === undefined) {
        throw fail(`variable ${section ? `${section}::` : ""}${name} is not defined` + (section === "ENV" ? " (pki sets PKI_NAME, and PKI_EMAIL from --email)" : ""));
      }
      out += value;
      i += m[0].length - 1;
    } else {
      out += c;
    }
  }
  return out;
}
