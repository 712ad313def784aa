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
  readonly parse: (values: readonly string[], limits: ParseLimits) => ViewResult<T>;
}

interface SlottedViewSpec<T> extends ViewSpec<T> {
  /** Where a message caches this view (message.ts). */
  readonly slot: number;
}

const SPECS: { readonly [K in ViewName]: ViewSpec<ViewTypes[K]> } = {
  via: { header: 'via', label: 'Via', parse: (v) => parseViaList(v) },
  from: { header: 'from', label: 'From', parse: (v, l) => parseSingleAddress(v, l.maxUriBytes) },
  to: { header: 'to', label: 'To', parse: (v, l) => parseSingleAddress(v, l.maxUriBytes) },
  cseq: { header: 'cseq', label: 'CSeq', parse: (v) => parseCSeq(v) },
  callId: { header: 'call-id', label: 'Call-ID', parse: (v) => parseCallId(v) },
  contact: {
    header: 'contact',
    label: 'Contact',
    parse: (v, l) =>
      v.length === 0
        ? { ok: true, value: { star: false, list: [] } }
        : parseContactList(v, l.maxUriBytes),
  },
  route: { header: 'route', label: 'Route', parse: (v, l) => parseRouteList(v, l.maxUriBytes) },
  recordRoute: {
    header: 'record-route',
    label: 'Record-Route',
    parse: (v, l) => parseRouteList(v, l.maxUriBytes),
  },
  maxForwards: { header: 'max-forwards', label: 'Max-Forwards', parse: (v) => parseMaxForwards(v) },
  expires: { header: 'expires', label: 'Expires', parse: (v) => parseExpires(v) },
  contentLength: {
    header: 'content-length',
    label: 'Content-Length',
    parse: (v) => parseContentLength(v),
  },
  contentType: { header: 'content-type', label: 'Content-Type', parse: (v) => parseContentType(v) },
  accept: { header: 'accept', label: 'Accept', parse: (v) => parseAccept(v) },
  date: { header: 'date', label: 'Date', parse: (v) => parseDate(v) },
  require: { header: 'require', label: 'Require', parse: (v) => parseOptionTags(v) },
  proxyRequire: {
    header: 'proxy-require',
    label: 'Proxy-Require',
    parse: (v) => parseOptionTags(v),
  },
  supported: { header: 'supported', label: 'Supported', parse: (v) => parseOptionTags(v) },
  unsupported: { header: 'unsupported', label: 'Unsupported', parse: (v) => parseOptionTags(v) },
  authorization: {
    header: 'authorization',
    label: 'Authorization',
    parse: (v) => parseAuthFields(v),
  },
  proxyAuthorization: {
    header: 'proxy-authorization',
    label: 'Proxy-Authorization',
    parse: (v) => parseAuthFields(v),
  },
  wwwAuthenticate: {
    header: 'www-authenticate',
    label: 'WWW-Authenticate',
    parse: (v) => parseAuthFields(v),
  },
  proxyAuthenticate: {
    header: 'proxy-authenticate',
    label: 'Proxy-Authenticate',
    parse: (v) => parseAuthFields(v),
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
