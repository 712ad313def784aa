// The typed views a message offers, each parsed from the raw field values on first use and
// cached (most messages are routed on a handful of headers; the rest are never parsed).
import {
  type Contact,
  type ContactList,
  type NameAddr,
  parseContactList,
  parseRouteList,
  parseSingleAddress,
} from './address.ts';
import { type AuthField, parseAuthFields } from './auth.ts';
import type { ParseLimits } from './limits.ts';
import { type MediaType, parseAccept, parseContentType } from './media.ts';
import {
  type CSeq,
  parseCallId,
  parseContentLength,
  parseCSeq,
  parseDate,
  parseExpires,
  parseMaxForwards,
  parseOptionTags,
} from './scalars.ts';
import type { ViewResult } from './value-scan.ts';
import { parseViaList, type Via } from './via.ts';

export interface ViewTypes {
  via: Via[];
  from: NameAddr;
  to: NameAddr;
  cseq: CSeq;
  callId: string;
  contact: ContactList;
  route: NameAddr[];
  recordRoute: NameAddr[];
  maxForwards: number | undefined;
  expires: number | undefined;
  contentLength: number | undefined;
  contentType: MediaType | undefined;
  accept: MediaType[] | undefined;
  date: Date | undefined;
  require: string[];
  proxyRequire: string[];
  supported: string[];
  unsupported: string[];
  authorization: AuthField[];
  proxyAuthorization: AuthField[];
  wwwAuthenticate: AuthField[];
  proxyAuthenticate: AuthField[];
}

export type ViewName = keyof ViewTypes;

interface ViewSpec<T> {
  /** Header key (lower-case long name) the view reads. */
  readonly header: string;
  /** Wire name for error messages. */
  readonly label: string;
  /** A list header's view: from the values of all its fields, in order. */
  readonly parse?: (values: readonly string[], limits: ParseLimits) => ViewResult<T>;
  /** A one-value header's view: from its first field's value (undefined when absent). */
  readonly first?: (value: string | undefined, limits: ParseLimits) => ViewResult<T>;
  /**
   * A list view that is the concatenation of each field's (every element parsed on its own):
   * a message may build it from views of its fields parsed before (message.ts).
   */
  readonly elementwise?: boolean;
}

export interface SlottedViewSpec<T> extends ViewSpec<T> {
  /** Where a message caches this view (message.ts). */
  readonly slot: number;
}

// Most headers are absent from most messages: their views are these shared, frozen results
// (views are read-only) rather than a new empty list or undefined for every message.
const NO_LIST = Object.freeze({ ok: true, value: Object.freeze([]) }) as unknown as ViewResult<
  never[]
>;
const NO_VALUE: ViewResult<undefined> = Object.freeze({ ok: true, value: undefined });
const NO_CONTACTS = Object.freeze({
  ok: true,
  value: Object.freeze({ star: false, list: Object.freeze([]) }),
}) as unknown as ViewResult<ContactList>;

function list<T>(parse: (v: readonly string[], l: ParseLimits) => ViewResult<T[]>) {
  return (v: readonly string[], l: ParseLimits): ViewResult<T[]> =>
    v.length === 0 ? NO_LIST : parse(v, l);
}

function optional<T>(parse: (v: string) => ViewResult<T | undefined>) {
  return (v: string | undefined): ViewResult<T | undefined> =>
    v === undefined ? NO_VALUE : parse(v);
}

const SPECS: { readonly [K in ViewName]: ViewSpec<ViewTypes[K]> } = {
  via: { header: 'via', label: 'Via', parse: (v) => parseViaList(v), elementwise: true },
  from: { header: 'from', label: 'From', first: (v, l) => parseSingleAddress(v, l.maxUriBytes) },
  to: { header: 'to', label: 'To', first: (v, l) => parseSingleAddress(v, l.maxUriBytes) },
  cseq: { header: 'cseq', label: 'CSeq', first: parseCSeq },
  callId: { header: 'call-id', label: 'Call-ID', first: parseCallId },
  contact: {
    header: 'contact',
    label: 'Contact',
    parse: (v, l) => (v.length === 0 ? NO_CONTACTS : parseContactList(v, l.maxUriBytes)),
  },
  route: {
    header: 'route',
    label: 'Route',
    parse: list((v, l) => parseRouteList(v, l.maxUriBytes)),
    elementwise: true,
  },
  recordRoute: {
    header: 'record-route',
    label: 'Record-Route',
    parse: list((v, l) => parseRouteList(v, l.maxUriBytes)),
    elementwise: true,
  },
  maxForwards: {
    header: 'max-forwards',
    label: 'Max-Forwards',
    first: optional(parseMaxForwards),
  },
  expires: { header: 'expires', label: 'Expires', first: optional(parseExpires) },
  contentLength: {
    header: 'content-length',
    label: 'Content-Length',
    first: optional(parseContentLength),
  },
  contentType: {
    header: 'content-type',
    label: 'Content-Type',
    first: optional(parseContentType),
  },
  accept: {
    header: 'accept',
    label: 'Accept',
    parse: (v) => (v.length === 0 ? NO_VALUE : parseAccept(v)),
  },
  date: { header: 'date', label: 'Date', first: optional(parseDate) },
  require: { header: 'require', label: 'Require', parse: list(parseOptionTags) },
  proxyRequire: {
    header: 'proxy-require',
    label: 'Proxy-Require',
    parse: list(parseOptionTags),
  },
  supported: { header: 'supported', label: 'Supported', parse: list(parseOptionTags) },
  unsupported: { header: 'unsupported', label: 'Unsupported', parse: list(parseOptionTags) },
  authorization: {
    header: 'authorization',
    label: 'Authorization',
    parse: list(parseAuthFields),
  },
  proxyAuthorization: {
    header: 'proxy-authorization',
    label: 'Proxy-Authorization',
    parse: list(parseAuthFields),
  },
  wwwAuthenticate: {
    header: 'www-authenticate',
    label: 'WWW-Authenticate',
    parse: list(parseAuthFields),
  },
  proxyAuthenticate: {
    header: 'proxy-authenticate',
    label: 'Proxy-Authenticate',
    parse: list(parseAuthFields),
  },
};

/** Every view with its cache slot; no two views read the same header. */
export const VIEWS = Object.fromEntries(
  Object.entries(SPECS).map(([name, spec], slot) => [name, Object.freeze({ ...spec, slot })]),
) as { readonly [K in ViewName]: SlottedViewSpec<ViewTypes[K]> };

export const VIEW_COUNT = Object.keys(VIEWS).length;

/** Header key → the cache slot of the view parsed from it. */
export const SLOT_OF_HEADER: ReadonlyMap<string, number> = new Map(
  Object.values(VIEWS).map((v) => [v.header, v.slot]),
);

export type { AuthField, Contact, ContactList, CSeq, MediaType, NameAddr, Via };
