/** What progress output needs of a stream: a terminal flag and write. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface Progress {
  update(done: number, total: number): void;
  /** Ends the progress line, if one was drawn. */
  end(): void;
}

/**
 * A progress line on a terminal for work that turns out slow: nothing on a pipe or in a log,
 * nothing during the first `delayMs` (a fast backup stays silent), then `label: 42% (done/total)`.
 */
export function delayedProgress(label: string, stream: ProgressStream = process.stderr, clock: () => number = Date.now, delayMs = 1000): Progress {
  const started = clock();
  let drawn = false;
  if (!stream.isTTY) return { update: () => {}, end: () => {} };
  return {
    update(done, total) {
      if (!drawn && clock() - started < delayMs) return;
      drawn = true;
      const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
      stream.write(`\r${label}: ${percent}% (${done}/${total})`);
    },
    end() {
      if (drawn) stream.write("\n");
    },
  };
}
