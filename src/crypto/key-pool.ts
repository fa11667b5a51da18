import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { KeyType } from "./algorithms.js";
import type { SealedKey, SealParameters } from "./key-batch.js";

export interface KeyRequest {
  id: number;
  type: KeyType;
  count: number;
  seal: SealParameters;
}

export type KeyReply = { id: number; keys: SealedKey[]; error?: undefined } | { id: number; error: string; keys?: undefined };

/**
 * Worker threads that generate and seal keys for bulk issuance, one per core: key generation
 * is most of a certificate's work, and the main thread meanwhile signs and records the keys
 * the workers made before.
 */
export class KeyPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve: (keys: SealedKey[]) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  /** Set once a worker died: its requests would never be answered, so every request fails from then on. */
  private failed: Error | null = null;

  constructor(size = availableParallelism()) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => {
      // Small heaps: a worker holds one chunk's keys at a time (the default young generation alone is 16 MB+).
      const worker = new Worker(new URL("./key-worker.js", import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 } });
      worker.on("message", (m: KeyReply) => {
        const waiting = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error !== undefined) waiting?.reject(new Error(`key generation failed: ${m.error}`));
        else waiting?.resolve(m.keys);
      });
      worker.on("error", (e) => this.fail(new Error(`key generation failed: ${e.message}`)));
      worker.on("exit", (code) => this.fail(new Error(`key generation failed: a key worker stopped (exit code ${code})`)));
      return worker;
    });
  }

  /** `count` new keys of `type`, sealed under `seal`, split across the workers. */
  async generate(type: KeyType, count: number, seal: SealParameters): Promise<SealedKey[]> {
    if (this.failed) throw this.failed;
    const share = Math.ceil(count / this.workers.length);
    const parts = this.workers.map((worker, i) => {
      const n = Math.min(share, count - i * share);
      if (n <= 0) return Promise.resolve([]);
      const id = this.nextId++;
      return new Promise<SealedKey[]>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        worker.postMessage({ id, type, count: n, seal } satisfies KeyRequest);
      });
    });
    return (await Promise.all(parts)).flat();
  }

  async close(): Promise<void> {
    this.failed ??= new Error("the key pool was closed");
    this.failAll();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** A dead worker: fails what waits and what comes, and stops the others. */
  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    this.failAll();
    for (const w of this.workers) void w.terminate();
  }

  private failAll(): void {
    for (const p of this.pending.values()) p.reject(this.failed!);
    this.pending.clear();
  }
}
