// A JSON client for `pki serve --api` over node:https with a client certificate, kept alive per
// client (one socket per node), for tests and the bench that drive many requests from one process.
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";

export interface ApiReply {
  status: number;
  body: Record<string, any>;
}

export interface ApiClient {
  /** Rejects only when no answer came (connection refused or cut): the caller cannot know whether it was done. */
  call(port: number, method: string, path: string, json?: unknown): Promise<ApiReply>;
  close(): void;
}

export function apiClient(identity: { cert: string; key: string; ca: string }): ApiClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, cert: readFileSync(identity.cert), key: readFileSync(identity.key), ca: readFileSync(identity.ca) });
  const once = (port: number, method: string, path: string, json?: unknown): Promise<ApiReply> =>
    new Promise((resolve, reject) => {
      const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
      const req = request(
        { host: "127.0.0.1", port, method, path, agent, servername: "localhost", headers: body ? { "content-type": "application/json", "content-length": String(body.length) } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            try {
              resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, any>) : {} });
            } catch {
              reject(new Error(`not JSON (${res.statusCode}): ${text.slice(0, 200)}`));
            }
          });
          res.on("error", reject);
        },
      );
      req.on("error", (e) => reject(Object.assign(e, { reused: req.reusedSocket })));
      req.end(body);
    });
  return {
    async call(port, method, path, json) {
      try {
        return await once(port, method, path, json);
      } catch (e) {
        // A kept-alive socket the server closed as idle just as it was reused: the request never
        // reached the server (Node's documented keep-alive race), so it is sent once more.
        if ((e as { reused?: boolean }).reused && (e as NodeJS.ErrnoException).code === "ECONNRESET") return once(port, method, path, json);
        throw e;
      }
    },
    close: () => agent.destroy(),
  };
}
