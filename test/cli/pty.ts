import { PKI_BIN, PASSPHRASE, run, type Result } from "../helpers.js";

// Runs pki on a real pseudo-terminal (python3's pty module): stdin and stdout are TTYs, as
// for a person. When the output contains `waitFor`, `answer` is typed. stdout and stderr
// arrive mixed, as on a screen. Bounded: gives up after 60 s of silence.
const DRIVER = `
import os, pty, select, sys
argv, wait_for, answer = sys.argv[1:-2], sys.argv[-2].encode(), sys.argv[-1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out, answered = b"", False
while True:
    ready, _, _ = select.select([fd], [], [], 60)
    if not ready:
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if wait_for and not answered and wait_for in out:
        os.write(fd, answer)
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
`;

export function pkiOnTerminal(home: string, args: string[], waitFor = "", answer = "", extraEnv: Record<string, string> = {}): Result {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE, TERM: "dumb", NO_COLOR: "1", ...extraEnv };
  return run("python3", ["-c", DRIVER, process.execPath, PKI_BIN, ...args, waitFor, answer], { env });
}
