// tsyringe, which @peculiar/x509 uses internally, refuses to load without a Reflect
// metadata API; the "lite" build is the smallest one that satisfies it. It must be
// imported before @peculiar/x509, which is why every crypto module reaches x509 through here.
import "reflect-metadata/lite";
import { Crypto } from "@peculiar/webcrypto";
import * as x509 from "@peculiar/x509";

/** The one WebCrypto provider used for keys, signatures and certificates. */
export const webcrypto = new Crypto();
x509.cryptoProvider.set(webcrypto as unknown as globalThis.Crypto);

export { x509 };
