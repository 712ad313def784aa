// The header surgery of forwarding (RFC 3261 §16.6 for requests, §16.7 for responses). Each
// function does one step on a message the proxy owns (a copy: the server transaction keeps
// the received request to build its own 100 and 408, whose Vias must stay the caller's).
import { hash } from 'node:crypto';
import {
  BRANCH_MAGIC_COOKIE,
  type HeaderField,
  isSipUri,
  type NameAddr,
  type SipMessage,
  SipRequest,
} from '../message/index.ts';
import type { TransportName } from '../transaction/index.ts';
import type { AdvertisedAddress, OwnAddresses } from './addresses.ts';

/** §16.6 step 3: what a request without Max-Forwards gets. */
export const DEFAULT_MAX_FORWARDS = 70;

/** Our branches start with this after the magic cookie: loop detection recognises them. */
export const OWN_BRANCH_PREFIX = `${BRANCH_MAGIC_COOKIE}tg`;

/** §16.6 step 1: the copy that is forwarded; the received request stays untouched. */
export function copyRequest(req: SipRequest): SipRequest {
  return new SipRequest(
    req.method,
    req.uriText,
    req.uri,
    [...(req.headers as HeaderField[])],
    req.body,
    req.limits,
  );
}

/**
 * §16.6 steps 1, 2, 3 and 16.4: the copy sent to one of the callee's bindings, aimed at its
 * contact, with tollgate's own Route entries gone and one hop less (INVITEs and requests
 * for users alike).
 */
export function towardsBinding(
  req: SipRequest,
  contactText: string,
  contactUri: SipRequest['uri'],
  own: OwnAddresses,
): SipRequest {
  const out = copyRequest(req);
  out.uriText = contactText;
  out.uri = contactUri;
  popOwnRoutes(out, own);
  decrementMaxForwards(out);
  return out;
}

/** §16.6 step 3: one hop less, or the default when the request had none. */
export function decrementMaxForwards(req: SipRequest): void {
  const mf = req.tryView('maxForwards');
  const value = mf.ok && mf.value !== undefined ? Math.max(0, mf.value - 1) : DEFAULT_MAX_FORWARDS;
  req.setHeader('Max-Forwards', String(value));
}

/**
 * §16.6 step 4: stay on the path of the dialog's later requests (loose routing, `lr`). The
 * values, top first, come from record-route.ts (one, or two facing each side).
 */
export function addRecordRoute(req: SipRequest, values: readonly string[]): void {
  req.prependHeader('Record-Route', values.join(', '));
}

/** §16.6 step 8: our Via on top, with rport so the next hop answers where we sent from. */
export function pushVia(
  req: SipRequest,
  transport: TransportName,
  at: AdvertisedAddress,
  branch: string,
): void {
  req.prependHeader(
    'Via',
    `SIP/2.0/${transport.toUpperCase()} ${at.host}:${at.port};branch=${branch};rport`,
  );
}

/**
 * §16.11: a stateless forward (the ACK of a 2xx) needs a branch that is the same for every
 * retransmission of the same request: derived from the branch it arrived with.
 */
export function statelessBranch(incomingBranch: string | undefined, salt: string): string {
  // The one-shot hash: no Hash object per ACK (a quarter of createHash's CPU).
  const digest = hash('sha256', `${salt}\n${incomingBranch ?? ''}`, 'base64url').slice(0, 16);
  return `${OWN_BRANCH_PREFIX}s${digest}`;
}

/**
 * §22.3: credentials for our realm were meant for us; the next hop must not see them (a
 * callee could otherwise replay a caller's answer to our challenge).
 */
export function stripOwnCredentials(req: SipRequest, realm: string): void {
  const fields = req.headerValues('proxy-authorization');
  if (fields.length === 0) return;
  const quoted = `realm="${realm}"`;
  const kept = fields.filter((v) => !v.includes(quoted));
  req.removeHeader('proxy-authorization');
  for (const v of kept) req.addHeader('Proxy-Authorization', v);
}

/** Our entries at the top of a route set: two after a double Record-Route (RFC 5658). */
const MAX_OWN_ROUTES = 2;

/**
 * §16.4: a top Route naming us was put there by our Record-Route (or is the outbound proxy
 * a phone preloads, RFC 3261 §8.1.2); remove it, and the second of a double Record-Route
 * when it follows. Returns how many were removed. Handles several values in one field.
 */
export function popOwnRoutes(req: SipRequest, own: OwnAddresses): number {
  let removed = 0;
  while (removed < MAX_OWN_ROUTES) {
    const routes = req.tryView('route');
    if (!routes.ok || routes.value.length === 0) break;
    const top: NameAddr = routes.value[0]!;
    if (!isSipUri(top.uri) || !own.isUs(top.uri)) break;
    removeFirstElement(req, 'route', 'Route');
    removed++;
  }
  return removed;
}

/** §16.7 step 3: the response's top Via is ours; the rest goes back up. False if none left. */
export function popTopVia(res: SipMessage): boolean {
  removeFirstElement(res, 'via', 'Via');
  return res.has('via');
}

/** Any Via with our sent-by and one of our branches: the request has been here (§16.3 step 4). */
export function hasOwnVia(req: SipRequest, own: OwnAddresses): boolean {
  const vias = req.tryView('via');
  if (!vias.ok) return false;
  return vias.value.some(
    (v) => v.branch?.startsWith(OWN_BRANCH_PREFIX) === true && own.isOwnSentBy(v.host, v.port),
  );
}

/** RFC 3323 §4.1.1.3: the anonymous From a UA puts when it withholds its identity. */
export function isAnonymous(from: NameAddr): boolean {
  const uri = from.uri;
  if (isSipUri(uri)) {
    if (uri.host === 'anonymous.invalid') return true;
    if (uri.user?.toLowerCase() === 'anonymous') return true;
  }
  return from.displayName?.trim().toLowerCase() === 'anonymous';
}

/** Drops the first comma-separated element of the first field named `key`. */
function removeFirstElement(m: SipMessage, key: string, wireName: string): void {
  const first = m.headers.find((h) => h.key === key);
  if (first === undefined) return;
  const rest = afterFirstElement(first.value);
  if (rest === '') {
    m.removeFirstHeader(key);
    return;
  }
  // The remaining elements, and those of later fields, joined into one field in the first
  // one's place (§7.3.1: a comma list is equivalent to separate fields, order kept).
  m.setHeader(wireName, [rest, ...m.headerValues(key).slice(1)].join(', '));
}

/** Text after the first top-level comma (outside quotes and <>), trimmed; '' if none. */
function afterFirstElement(value: string): string {
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && !angle) return value.slice(i + 1).trim();
  }
  return '';
}
