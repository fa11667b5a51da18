// A worker thread of KeyPool (key-pool.ts): makes and seals the keys it is asked for.
import { parentPort } from "node:worker_threads";
import type { KeyReply, KeyRequest } from "./key-pool.js";
import { newSealedKey } from "./key-batch.js";

parentPort!.on("message", (m: KeyRequest) => {
  let reply: KeyReply;
  try {
    const keys = Array.from({ length: m.count }, () => newSealedKey(m.type, m.seal));
    reply = { id: m.id, keys };
  } catch (e) {
    reply = { id: m.id, error: (e as Error).message };
  }
  parentPort!.postMessage(reply, reply.keys?.flatMap((k) => [k.spki.buffer as ArrayBuffer, k.sealed.buffer as ArrayBuffer]) ?? []);
});
