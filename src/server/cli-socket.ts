// The server end of the CLI's fast path (protocol in cli-protocol.ts): reads one request from an
// upgraded connection on serve.sock, runs it, streams its output back as frames. A broken
// request or a client that goes away never takes the server down; a command that started
// runs to its end even when its client left (like a transaction, it is not cut in half).
import type { Socket } from "node:net";
import { type CliRequest, FRAME, frame, MAX_REQUEST_BYTES, parseRequest, UPGRADE } from "./cli-protocol.js";

export interface CliOutput {
  /** The command (for the log) is served: it starts now. */
  accept(command: string): void;
  stdout(chunk: string | Uint8Array): void;
  stderr(chunk: string | Uint8Array): void;
}

/** Runs a request; null when this server does not run it (the client runs it directly). */
export type CliHandler = (req: CliRequest, out: CliOutput) => Promise<number | null>;

/** A client gets this long to send its request line. */
const REQUEST_TIMEOUT_MS = 5_000;

export function serveCliConnection(socket: Socket, head: Buffer, handler: CliHandler, log: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const send = (type: number, payload: string | Uint8Array) => {
      if (!socket.destroyed && socket.writable) socket.write(frame(type, payload));
    };
    socket.on("error", () => socket.destroy());
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${UPGRADE}\r\n\r\n`);
    let buffered = head;
    let started = false;
    const timer = setTimeout(() => (socket.destroy(), resolve()), REQUEST_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      const nl = buffered.indexOf(0x0a);
      if (nl === -1) {
        if (buffered.length > MAX_REQUEST_BYTES) (clearTimeout(timer), socket.destroy(), resolve());
        return;
      }
      socket.off("data", onData);
      clearTimeout(timer);
      if (!started) {
        started = true;
        void run(buffered.subarray(0, nl).toString("utf8")).finally(resolve);
      }
    };
    const run = async (line: string) => {
      const req = parseRequest(line);
      if (!req) {
        send(FRAME.fallBack, "malformed request");
        socket.end();
        return;
      }
      const t0 = performance.now();
      let command = "-";
      let code: number | null;
      try {
        code = await handler(req, { accept: (c) => ((command = c), send(FRAME.accepted, "")), stdout: (c) => send(FRAME.stdout, c), stderr: (c) => send(FRAME.stderr, c) });
      } catch (e) {
        // runCli reports every failure itself; this is a bug in the fast path.
        send(FRAME.stderr, `pki: internal error in pki serve: ${(e as Error)?.message ?? String(e)}; this is a bug: please report it\n`);
        code = 1;
      }
      log(`${new Date().toISOString()} cli ${command.slice(0, 40)} ${code === null ? "not served" : `exit=${code}`} ${(performance.now() - t0).toFixed(1)}ms`);
      if (code === null) send(FRAME.fallBack, "not served");
      else send(FRAME.exit, String(code));
      socket.end();
    };
    socket.on("data", onData);
    socket.on("close", () => {
      clearTimeout(timer);
      if (!started) resolve();
    });
    if (head.length) {
      buffered = Buffer.alloc(0);
      onData(head);
    }
  });
}
