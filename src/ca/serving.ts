// The authority as a long-running service (`pki serve`): the root key unlocked once and held,
// OCSP answers, the current CRL and root for HTTP, the figures /metrics reports, and the CRL
// republished before it lapses. Knows nothing of sockets: the server front door calls it.
import { createHash } from "node:crypto";
import { crlPem } from "../crypto/crl.js";
import { toPem } from "../crypto/pem.js";
import type { Context } from "./context.js";
import type { Signer } from "../crypto/signer.js";
import type { CaCore } from "./core.js";
import { type DelegatedResponder, issueDelegatedResponder } from "./ocsp-delegate.js";
import { OcspResponder, type OcspAnswer } from "./ocsp-responder.js";
import { issueCrl, type CrlResult } from "./revocation.js";
import { caBundlePem, crlBundlePem, latestCrls, trustedRoots } from "./roots.js";
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

/** What pki serve publishes, read again when the ledger's head event moves. */
interface Published {
  /** The current root's CRL. */
  current: PublishedCrl | null;
  /** Every trusted root's CRL (PEM: concatenated, as in crl.pem). */
  bundle: PublishedCrl | null;
  byGeneration: Map<number, PublishedCrl>;
  /** The generation /crl.der and /ca.der serve. */
  legacy: number;
  roots: Map<number, Uint8Array>;
  caPem: string;
  notAfter: Date;
}

function published(der: Uint8Array, pem: string, crl: { number: number; thisUpdate: string; nextUpdate: string }): PublishedCrl {
  return {
    der,
    pem,
    number: crl.number,
    thisUpdate: new Date(crl.thisUpdate),
    nextUpdate: new Date(crl.nextUpdate),
    etag: `"${createHash("sha256").update(der).digest("base64url").slice(0, 27)}"`,
  };
}

/** 2 for "/crl-G2.der" (what = "crl"), null for anything else. */
function generationIn(path: string, what: "crl" | "ca"): number | null {
  const m = new RegExp(`^/${what}-G([1-9][0-9]{0,3})\\.der$`).exec(path);
  return m ? Number(m[1]) : null;
}

/** Republish when less than this share of the CRL's lifetime remains (and renew the delegated responder likewise). */
const REPUBLISH_AT_REMAINING = 1 / 3;

/** Who signs OCSP answers (`pki serve --ocsp-signer`). */
export type OcspSignerChoice = "ca" | "delegated";

export class ServingAuthority {
  private cache: Published | null = null;
  /** The head event id `crlCache` was read at; -1 before the first read. */
  private crlGeneration = -1;

  private constructor(
    private readonly core: CaCore,
    private readonly signer: Signer,
    private readonly responder: OcspResponder,
    /** Who the service's own changes (republished CRLs, responder certificates) are recorded as. */
    private readonly actor: string,
    /** The current delegated responder; null when the CA signs its answers. */
    private delegated: DelegatedResponder | null,
  ) {}

  /**
   * Unlocks the root key (the one passphrase prompt of the service's life; the Keyring holds it)
   * and prepares the responder; with `delegated`, issues its first responder certificate.
   */
  static async start(core: CaCore, ctx: Context, ocspSigner: OcspSignerChoice = "ca"): Promise<ServingAuthority> {
    const signer = await core.rootSigner();
    // The service (and the API, started after it) trusts the ledger's roots and roles: the anchor must vouch for them.
    await core.assertAnchored();
    const lifetime = await core.ledger.read((r) => durationSetting(r, "ocsp-lifetime"));
    const responder = new OcspResponder(core, signer, lifetime * 1000);
    const delegated = ocspSigner === "delegated" ? await issueDelegatedResponder(core, ctx, signer, await core.ledger.read((r) => durationSetting(r, "ocsp-signer-lifetime"))) : null;
    if (delegated) responder.useDelegate(delegated, delegated.root);
    return new ServingAuthority(core, signer, responder, ctx.actor, delegated);
  }

  /** The delegated responder certificate in use (serial, validity), or null when the CA signs. */
  responderCertificate(): { serial: string; notAfter: Date } | null {
    return this.delegated && { serial: this.delegated.serial, notAfter: this.delegated.notAfter };
  }

  /**
   * Issues the next delegated responder certificate when a third of the current one's lifetime
   * remains, or when someone revoked it; answers are signed by the new one from then on. Returns
   * it, or null when nothing was due (or the CA signs). Superseded is not revoked: several serve
   * nodes on one PostgreSQL ledger each sign with their own, the newest holding the name, and
   * must not re-issue in turn.
   */
  async renewResponderIfDue(now: Date): Promise<{ serial: string; notAfter: Date } | null> {
    const current = this.delegated;
    if (!current) return null;
    const lifetime = current.notAfter.getTime() - current.issuedAt.getTime();
    const due = current.notAfter.getTime() - now.getTime() <= lifetime * REPUBLISH_AT_REMAINING;
    if (!due && (await this.core.ledger.read((r) => r.bySerial(current.serial)))?.state !== "revoked") return null;
    const seconds = await this.core.ledger.read((r) => durationSetting(r, "ocsp-signer-lifetime"));
    const next = await issueDelegatedResponder(this.core, { actor: this.actor, now }, this.signer, seconds);
    this.delegated = next;
    this.responder.useDelegate(next, next.root);
    return { serial: next.serial, notAfter: next.notAfter };
  }

  answerOcsp(requestDer: Uint8Array, now: Date): Promise<OcspAnswer> {
    return this.responder.answer(requestDer, now);
  }

  /**
   * The newest CRL in the ledger (the current root's). Every change appends an event, so the
   * CRL rows (megabytes at 100,000 entries) are read again only when the head event moved, not
   * on every request.
   */
  async currentCrl(): Promise<PublishedCrl | null> {
    return (await this.published()).current;
  }

  /**
   * A CRL by the path it is published at: `/crl.pem` holds every trusted root's (like crl.pem in
   * the home); `/crl-G2.der` is generation 2's; `/crl.der` is generation 1's while it is trusted
   * (the URL its certificates carry), else the current root's. Null: no such CRL.
   */
  async crlAt(path: "/crl.pem" | "/crl.der" | string): Promise<PublishedCrl | null> {
    const p = await this.published();
    if (path === "/crl.pem") return p.bundle;
    const generation = path === "/crl.der" ? p.legacy : generationIn(path, "crl");
    return generation === null ? null : (p.byGeneration.get(generation) ?? null);
  }

  /** ca.pem: every trusted root, the current one first. */
  async rootPem(): Promise<string> {
    return (await this.published()).caPem;
  }

  /** `/ca.der`: generation 1's root while it is trusted, else the current one; `/ca-G2.der`: generation 2's. */
  async rootDer(path: "/ca.der" | string): Promise<Uint8Array | null> {
    const p = await this.published();
    const generation = path === "/ca.der" ? p.legacy : generationIn(path, "ca");
    return generation === null ? null : (p.roots.get(generation) ?? null);
  }

  private async published(): Promise<Published> {
    const head = await this.core.ledger.read((r) => r.headEventId());
    if (head === this.crlGeneration && this.cache) return this.cache;
    const [roots, crls] = await this.core.ledger.read(async (r) => {
      const roots = await r.roots();
      return [roots, await latestCrls(r, roots)] as const;
    });
    this.crlGeneration = head;
    const trusted = trustedRoots(roots);
    const byGeneration = new Map<number, PublishedCrl>();
    for (const crl of crls) {
      const generation = trusted.find((t) => t.record.serial === crl.issuer)?.generation ?? trusted[0]?.generation ?? 1;
      const old = this.cache?.byGeneration.get(generation);
      byGeneration.set(generation, old?.number === crl.number ? old : published(crl.der, crlPem(crl.der), crl));
    }
    const current = trusted[0] ? (byGeneration.get(trusted[0].generation) ?? null) : null;
    const bundleDer = crls.length === 1 ? crls[0]!.der : new Uint8Array(Buffer.concat(crls.map((c) => c.der)));
    const bundle = current && (crls.length === 1 ? current : published(bundleDer, crlBundlePem(crls), crls[0]!));
    this.cache = {
      current,
      bundle,
      byGeneration,
      legacy: trusted.some((t) => t.generation === 1) ? 1 : (trusted[0]?.generation ?? 1),
      roots: new Map(trusted.map((t) => [t.generation, t.record.der])),
      caPem: trusted.length > 0 ? caBundlePem(roots) : toPem(this.core.root.der, "CERTIFICATE"),
      notAfter: new Date(trusted[0]?.record.notAfter ?? this.core.root.notAfter),
    };
    return this.cache;
  }

  async figures(now: Date): Promise<ServiceFigures> {
    const c = await this.core.ledger.read((r) => r.stateCounts(now.toISOString()));
    const crl = await this.currentCrl();
    return {
      certificates: { valid: c.active, expired: c.activeExpired, revoked: c.revoked, superseded: c.superseded },
      crl: crl && { number: crl.number, nextUpdate: crl.nextUpdate },
      rootNotAfter: (await this.published()).notAfter,
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
    let lifetime = await this.core.ledger.read((r) => durationSetting(r, "crl-lifetime"));
    if (this.delegated) lifetime = Math.min(lifetime, (this.delegated.notAfter.getTime() - this.delegated.issuedAt.getTime()) / 1000);
    return Math.min(600_000, Math.max(5_000, (lifetime * 1000) / 10));
  }
}
