/** A workload's SPIFFE id, split: spiffe://<trustDomain>/ns/<namespace>/sa/<name>. */
export interface SpiffeId {
  id: string;
  trustDomain: string;
  namespace: string;
  name: string;
}

const shape = /^spiffe:\/\/([a-z0-9.-]+)\/ns\/([a-z0-9-]+)\/sa\/([a-z][a-z0-9-]{0,62})$/;

/** The SPIFFE id of a `spiffe://…/ns/…/sa/…` string, or undefined when it is not one. */
export function parseSpiffeId(value: string): SpiffeId | undefined {
  const match = shape.exec(value);
  if (!match) return undefined;
  const [, trustDomain = '', namespace = '', name = ''] = match;
  return { id: value, trustDomain, namespace, name };
}

/**
 * The one SPIFFE id among a certificate's subject alternative names (Node's `subjectaltname` or
 * `X509Certificate.subjectAltName`: `URI:spiffe://…, IP Address:127.0.0.1`). A certificate with
 * none, or with two (which one would it be?), has none.
 */
export function spiffeIdOfCertificate(subjectAltName: string | undefined): SpiffeId | undefined {
  const ids = (subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('URI:spiffe://'))
    .map((entry) => parseSpiffeId(entry.slice('URI:'.length)));
  return ids.length === 1 ? ids[0] : undefined;
}
