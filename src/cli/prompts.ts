// The only module that imports @inquirer/prompts, and only ever on a terminal.
import { stdin, stdout } from "node:process";

export function canPrompt(): boolean {
  return Boolean(stdin.isTTY && stdout.isTTY) && !process.env.CI;
}

/**
 * Between two prompts (while a passphrase is checked or libraries load) the terminal would
 * echo whatever is typed, in the clear. From the first prompt on, stdin stays in raw mode
 * whenever no prompt is open: keys typed then are neither shown nor kept, and Ctrl-C still
 * interrupts. `releaseTerminal` ends it when the command is done.
 */
let swallow: ((chunk: Buffer) => void) | null = null;
const SIGNAL_KEYS: [number, NodeJS.Signals][] = [[0x03, "SIGINT"], [0x1c, "SIGQUIT"], [0x1a, "SIGTSTP"]];

function holdEchoOff(): void {
  if (swallow || !stdin.isTTY) return;
  swallow = (chunk) => {
    // Raw mode turns off the terminal's own signal keys; keep Ctrl-C, Ctrl-\ and Ctrl-Z working.
    for (const [key, signal] of SIGNAL_KEYS) if (chunk.includes(key)) process.kill(process.pid, signal);
  };
  stdin.setRawMode(true);
  stdin.on("data", swallow);
  stdin.resume();
}

/** Hands stdin to a prompt; raw mode stays on, so nothing is echoed in between. */
function yieldToPrompt(): void {
  if (!swallow) return;
  stdin.off("data", swallow);
  stdin.pause();
  swallow = null;
}

export function releaseTerminal(): void {
  if (!swallow) return;
  yieldToPrompt();
  stdin.setRawMode(false);
}

let probed = false;

async function prompt<T>(ask: (inquirer: typeof import("@inquirer/prompts")) => Promise<T>): Promise<T> {
  if (!probed) {
    // A broken SQLite module would fail the command after the user typed every secret: find out first.
    const { Authority } = await import("../ca/authority.js");
    Authority.checkStorageModule();
    probed = true;
  }
  const inquirer = await import("@inquirer/prompts");
  yieldToPrompt();
  try {
    return await ask(inquirer);
  } finally {
    holdEchoOff();
  }
}

/** Asks for a secret (twice when `confirm`); `problem` refuses an entry at once and asks again. */
export async function askSecret(message: string, confirm: boolean, problem?: (v: string) => string | null): Promise<string> {
  for (;;) {
    const first = await prompt(({ password }) => password({ message, mask: "*", validate: (v) => problem?.(v) ?? true }));
    if (!confirm) return first;
    const second = await prompt(({ password }) => password({ message: "Repeat it", mask: "*" }));
    if (first === second) return first;
    process.stderr.write("The two entries differ; try again.\n");
  }
}

export async function askText(message: string, options: { required: boolean; validate?: (v: string) => true | string }): Promise<string> {
  return prompt(({ input }) =>
    input({
      message,
      validate: (v) => (options.required && v.trim() === "" ? "required" : (options.validate?.(v) ?? true)),
    }),
  );
}
