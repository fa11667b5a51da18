import { io, type OutStream } from "./io.js";

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColour(stream: OutStream = io().stdout): boolean {
  const env = io().env;
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb";
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export function paint(colour: keyof typeof CODES, text: string, stream: OutStream = io().stdout): string {
  return useColour(stream) ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

export function printJson(value: unknown): void {
  io().stdout.write(JSON.stringify(value, null, 2) + "\n");
}

export function print(line = ""): void {
  io().stdout.write(line + "\n");
}

/** A plain aligned table, columns measured in terminal cells; the last column is not padded. */
export function printTable(headers: string[], rows: string[][], colourOf?: (row: string[], col: number, text: string) => string): void {
  const widths = headers.map((h, i) => rows.reduce((w, r) => Math.max(w, displayWidth(r[i] ?? "")), displayWidth(h)));
  const line = (cells: string[], row?: string[]) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - displayWidth(c));
        return row && colourOf ? colourOf(row, i, padded) : padded;
      })
      .join("  ")
      .trimEnd();
  // Written in blocks, not a write a line: 1,000 rows were 1,000 write(2) calls, most of
  // `pki list --expiring 30`'s time on a large ledger.
  let block = paint("bold", line(headers)) + "\n";
  for (const r of rows) {
    block += line(r, r) + "\n";
    if (block.length >= TABLE_BLOCK) {
      io().stdout.write(block);
      block = "";
    }
  }
  if (block) io().stdout.write(block);
}

const TABLE_BLOCK = 64 * 1024;

export { when } from "../ca/views.js";

/** "1 certificate", "2 certificates"; `many` for irregular plurals. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

// Made on first use: creating a Segmenter loads ICU's break rules, a third of `pki show`'s start-up.
let graphemes: Intl.Segmenter | undefined;

/**
 * How many terminal cells `text` takes: East Asian wide and fullwidth characters and emoji
 * take two, combining marks and other zero-width characters none (they join the character
 * before them in one grapheme), everything else one. What wcwidth(3) does, for the
 * characters names may hold.
 */
export function displayWidth(text: string): number {
  // Printable ASCII, nearly every cell of a listing, is one column a character: no segmenting needed.
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let width = 0;
  for (const { segment } of (graphemes ??= new Intl.Segmenter("en", { granularity: "grapheme" })).segment(text)) width += graphemeWidth(segment);
  return width;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function graphemeWidth(g: string): number {
  if (/\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F/u.test(g)) return 2;
  const cp = g.codePointAt(0)!;
  if (/^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]/u.test(g)) return 0;
  return WIDE.some(([from, to]) => cp >= from && cp <= to) ? 2 : 1;
}

/** East Asian Wide (W) and Fullwidth (F) blocks, per Unicode's EastAsianWidth.txt. */
const WIDE: readonly [number, number][] = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6], [0x1f200, 0x1f2ff], [0x20000, 0x2fffd], [0x30000, 0x3fffd],
];
