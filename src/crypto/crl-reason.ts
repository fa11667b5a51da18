// Kept apart from crl.ts so that naming a reason (CLI choices, views) does not load @peculiar/x509.

/** CRLReason codes of RFC 5280 section 5.3.1 (7 is unused there). */
export enum CrlReason {
  unspecified = 0,
  keyCompromise = 1,
  cACompromise = 2,
  affiliationChanged = 3,
  superseded = 4,
  cessationOfOperation = 5,
  certificateHold = 6,
  removeFromCRL = 8,
  privilegeWithdrawn = 9,
  aACompromise = 10,
}
