import { stdout } from "node:process";

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColour(stream: NodeJS.WriteStream = stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export function paint(colour: keyof typeof CODES, text: string, stream: NodeJS.WriteStream = stdout): string {
  return useColour(stream) ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

export function printJson(value: unknown): void {
  stdout.write(JSON.stringify(value, null, 2) + "\n");
}

export function print(line = ""): void {
  stdout.write(line + "\n");
}

/** A plain aligned table; the last column is not padded. */
export function printTable(headers: string[], rows: string[][], colourOf?: (row: string[], col: number, text: string) => string): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? "")].length)));
  const line = (cells: string[], row?: string[]) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - [...c].length);
        return row && colourOf ? colourOf(row, i, padded) : padded;
      })
      .join("  ")
      .trimEnd();
  print(paint("bold", line(headers)));
  for (const r of rows) print(line(r, r));
}

/** "2027-11-23" from an ISO timestamp: what people want to read in a table. */
export function day(iso: string): string {
  return iso.slice(0, 10);
}
