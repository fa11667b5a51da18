import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { PkiError, shown } from "./errors.js";

/** Largest profile, CSR and certificate file pki reads: real ones are a few kilobytes. */
export const MAX_SMALL_FILE_BYTES = 64 * 1024;
/** Largest certificate bundle (doctor --ca): the system's trust store is about 200 KB. */
export const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;
/** Largest secret file (passphrase or password file; the first line is the secret). */
export const MAX_SECRET_FILE_BYTES = 4 * 1024;
/** Largest `issue-client --from` list: a million names of 16 characters. */
export const MAX_NAME_LIST_BYTES = 16 * 1024 * 1024;

/**
 * Reads at most `maxBytes` of `file`, refusing a larger one before its content is read or
 * echoed: a regular file by its size, a device or pipe (/dev/zero) after `maxBytes + 1` bytes.
 * Open and read errors are thrown as they are, for the caller to word.
 */
export function readBounded(file: string, maxBytes: number, what: string): Buffer {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    if (size <= maxBytes) {
      // Devices and pipes report size 0: room for the bound and one byte more, to see it crossed.
      const buffer = Buffer.alloc((size > 0 ? size : maxBytes) + 1);
      let total = 0;
      while (total < buffer.length) {
        const n = readSync(fd, buffer, total, buffer.length - total, null);
        if (n === 0) return buffer.subarray(0, total);
        total += n;
      }
      if (total <= maxBytes) throw new PkiError("storage", `${what} ${shown(file)} grew while pki read it`, "run the command again");
    }
    throw new PkiError("invalid", `${what} ${shown(file)} is larger than ${maxBytes} bytes, the most pki reads there`, undefined, "FILE_TOO_LARGE");
  } finally {
    closeSync(fd);
  }
}
