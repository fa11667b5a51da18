// The only module that imports @inquirer/prompts, and only ever on a terminal.
import { stdin } from "node:process";
import { PassThrough } from "node:stream";
import { io } from "./io.js";

export function canPrompt(): boolean {
  return io().canPrompt;
}

/**
 * Between two prompts (while a passphrase is checked or libraries load) the terminal would
 * echo whatever is typed, in the clear. So from the first prompt until the command ends pki
 * keeps the terminal in raw mode itself and gives the prompts a stream of its keys instead of
 * stdin (a prompt would switch raw mode off when it closes): keys typed while no prompt is
 * open are neither shown nor kept, and Ctrl-C, Ctrl-\ and Ctrl-Z still work.
 */
interface TerminalKeys extends PassThrough {
  isTTY: true;
  setRawMode(mode: boolean): TerminalKeys;
}

let keys: TerminalKeys | null = null;
let promptOpen = false;
const SIGNAL_KEYS: [number, NodeJS.Signals][] = [[0x03, "SIGINT"], [0x1c, "SIGQUIT"], [0x1a, "SIGTSTP"]];

function forward(chunk: Buffer): void {
  if (promptOpen) keys!.write(chunk);
  else for (const [key, signal] of SIGNAL_KEYS) if (chunk.includes(key)) process.kill(process.pid, signal);
}

function terminalKeys(): TerminalKeys {
  if (!keys) {
    keys = Object.assign(new PassThrough(), { isTTY: true as const, setRawMode: () => keys! });
    stdin.setRawMode(true);
    stdin.on("data", forward);
    stdin.resume();
  }
  return keys;
}

export function releaseTerminal(): void {
  if (!keys) return;
  stdin.off("data", forward);
  stdin.pause();
  stdin.setRawMode(false);
  keys = null;
}

let probed = false;

async function prompt<T>(ask: (inquirer: typeof import("@inquirer/prompts"), input: TerminalKeys) => Promise<T>): Promise<T> {
  if (!probed) {
    // A broken SQLite module would fail the command after the user typed every secret: find out first.
    const { Authority } = await import("../ca/authority.js");
    Authority.checkStorageModule();
    probed = true;
  }
  const inquirer = await import("@inquirer/prompts");
  const input = terminalKeys();
  promptOpen = true;
  try {
    return await ask(inquirer, input);
  } finally {
    promptOpen = false;
    // Keys that reached the stream as the prompt closed belong to no prompt: drop them.
    while (input.read() !== null);
  }
}

/** Asks for a secret (twice when `confirm`); `problem` refuses an entry at once and asks again. */
export async function askSecret(message: string, confirm: boolean, problem?: (v: string) => string | null): Promise<string> {
  for (;;) {
    const first = await prompt(({ password }, input) => password({ message, mask: "*", validate: (v) => problem?.(v) ?? true }, { input }));
    if (!confirm) return first;
    const second = await prompt(({ password }, input) => password({ message: "Repeat it", mask: "*" }, { input }));
    if (first === second) return first;
    io().stderr.write("The two entries differ; try again.\n");
  }
}

export async function askText(message: string, options: { required: boolean; validate?: (v: string) => true | string }): Promise<string> {
  return prompt(({ input }, keys) =>
    input(
      {
        message,
        validate: (v) => (options.required && v.trim() === "" ? "required" : (options.validate?.(v) ?? true)),
      },
      { input: keys },
    ),
  );
}

/** A yes/no question on stderr (stdout stays clean for --json), answered "no" unless told otherwise. */
export async function askConfirm(message: string): Promise<boolean> {
  const { confirm } = await import("@inquirer/prompts");
  return confirm({ message, default: false }, { output: process.stderr });
}
