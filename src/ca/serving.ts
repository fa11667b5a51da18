// The authority as a long-running service (`pki serve`): the root key unlocked once and held,
// OCSP answers, the current CRL and root for HTTP, the figures /metrics reports, and the CRL
// republished before it lapses. Knows nothing of sockets: the server front door calls it.
import { createHash } from "node:crypto";
import { crlPem } from "../crypto/crl.js";
import { toPem } from "../crypto/pem.js";
import type { Context } from "./context.js";
import type { Signer } from "../crypto/signer.js";
import type { CaCore } from "./core.js";
import { OcspResponder, type OcspAnswer } from "./ocsp-responder.js";
import { issueCrl, type CrlResult } from "./revocation.js";
import { durationSetting } from "./settings.js";

/** The CRL as published over HTTP. */
export interface PublishedCrl {
  der: Uint8Array;
  pem: string;
  number: number;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Strong validator: the hash of the DER. */
  etag: string;
}

export interface ServiceFigures {
  certificates: { valid: number; expired: number; revoked: number; superseded: number };
  crl: { number: number; nextUpdate: Date } | null;
  rootNotAfter: Date;
}

/** Republish when less than this share of the CRL's lifetime remains. */
const REPUBLISH_AT_REMAINING = 1 / 3;

export class ServingAuthority {
  private crlCache: PublishedCrl | null = null;
  /** The head event id `crlCache` was read at; -1 before the first read. */
  private crlGeneration = -1;

  private constructor(
    private readonly core: CaCore,
    private readonly signer: Signer,
    private readonly responder: OcspResponder,
    /** Who the service's own changes (republished CRLs) are recorded as. */
    private readonly actor: string,
  ) {}

  /** Unlocks the root key (the one passphrase prompt of the service's life; the Keyring holds it) and prepares the responder. */
  static async start(core: CaCore, ctx: Context): Promise<ServingAuthority> {
    const signer = await core.rootSigner();
    const lifetime = await core.ledger.read((r) => durationSetting(r, "ocsp-lifetime"));
    const responder = new OcspResponder(core, signer, lifetime * 1000);
    return new ServingAuthority(core, signer, responder, ctx.actor);
  }

  answerOcsp(requestDer: Uint8Array, now: Date): Promise<OcspAnswer> {
    return this.responder.answer(requestDer, now);
  }

  /**
   * The newest CRL in the ledger. Every change appends an event, so the CRL row (megabytes at
   * 100,000 entries) is read again only when the head event moved, not on every request.
   */
  async currentCrl(): Promise<PublishedCrl | null> {
    const head = await this.core.ledger.read((r) => r.headEventId());
    if (head === this.crlGeneration) return this.crlCache;
    const latest = await this.core.ledger.read((r) => r.latestCrl());
    this.crlGeneration = head;
    if (!latest) return (this.crlCache = null);
    if (this.crlCache?.number !== latest.number) {
      this.crlCache = {
        der: latest.der,
        pem: crlPem(latest.der),
        number: latest.number,
        thisUpdate: new Date(latest.thisUpdate),
        nextUpdate: new Date(latest.nextUpdate),
        etag: `"${createHash("sha256").update(latest.der).digest("base64url").slice(0, 27)}"`,
      };
    }
    return this.crlCache;
  }

  rootPem(): string {
    return toPem(this.core.root.der, "CERTIFICATE");
  }

  rootDer(): Uint8Array {
    return this.core.root.der;
  }

  async figures(now: Date): Promise<ServiceFigures> {
    const c = await this.core.ledger.read((r) => r.stateCounts(now.toISOString()));
    const crl = await this.currentCrl();
    return {
      certificates: { valid: c.active, expired: c.activeExpired, revoked: c.revoked, superseded: c.superseded },
      crl: crl && { number: crl.number, nextUpdate: crl.nextUpdate },
      rootNotAfter: new Date(this.core.root.notAfter),
    };
  }

  /** True while the ledger answers (for /health). */
  async ledgerReachable(): Promise<boolean> {
    try {
      await this.core.ledger.read((r) => r.headEventId());
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Signs and installs a new CRL when less than a third of the current one's lifetime remains
   * (or when there is none, or it lapsed), with the `crl-lifetime` setting. Returns what was
   * published (its hook is for the caller to run), or null when the current one is fresh.
   */
  async republishCrlIfDue(now: Date): Promise<CrlResult | null> {
    const crl = await this.currentCrl();
    if (crl) {
      const lifetime = crl.nextUpdate.getTime() - crl.thisUpdate.getTime();
      if (crl.nextUpdate.getTime() - now.getTime() > lifetime * REPUBLISH_AT_REMAINING) return null;
    }
    // Another node or a CLI command may have published meanwhile: decide again under the lock.
    const ctx: Context = { actor: this.actor, now };
    return this.core.change(ctx, async (tx, files) => {
      const latest = await tx.latestCrl();
      if (latest && crl && latest.number !== crl.number) return null;
      return issueCrl(this.core, ctx, tx, this.signer, files);
    });
  }

  /** How often the scheduler should look: a tenth of the CRL lifetime, between 5 s and 10 min. */
  async republishCheckIntervalMs(): Promise<number> {
    const lifetime = await this.core.ledger.read((r) => durationSetting(r, "crl-lifetime"));
    return Math.min(600_000, Math.max(5_000, (lifetime * 1000) / 10));
  }
}
