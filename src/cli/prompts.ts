// The only module that imports @inquirer/prompts, and only ever on a terminal.
import { stdin, stdout } from "node:process";

export function canPrompt(): boolean {
  return Boolean(stdin.isTTY && stdout.isTTY) && !process.env.CI;
}

export async function askSecret(message: string, confirm: boolean): Promise<string> {
  const { password } = await import("@inquirer/prompts");
  for (;;) {
    const first = await password({ message, mask: "*" });
    if (!confirm) return first;
    const second = await password({ message: "Repeat it", mask: "*" });
    if (first === second) return first;
    process.stderr.write("The two entries differ; try again.\n");
  }
}

export async function askText(message: string, options: { required: boolean; validate?: (v: string) => true | string }): Promise<string> {
  const { input } = await import("@inquirer/prompts");
  return input({
    message,
    validate: (v) => (options.required && v.trim() === "" ? "required" : (options.validate?.(v) ?? true)),
  });
}

/** A yes/no question on stderr (stdout stays clean for --json), answered "no" unless told otherwise. */
export async function askConfirm(message: string): Promise<boolean> {
  const { confirm } = await import("@inquirer/prompts");
  return confirm({ message, default: false }, { output: process.stderr });
}
