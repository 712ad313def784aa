// The SIP message layer: parse, inspect (typed views), check, serialize.
export type { Contact, ContactList, NameAddr } from './address.ts';
export type { AuthField } from './auth.ts';
export { workMeter } from './chars.ts';
export {
  hasRfc3261Branch,
  type RequestCheckOptions,
  type RequestVerdict,
  type ResponseVerdict,
  type Role,
  validateRequest,
  validateResponse,
} from './checks.ts';
export { headerKey, wireName } from './header-names.ts';
export { DEFAULT_LIMITS, type ParseLimits, resolveLimits } from './limits.ts';
export type { MediaType } from './media.ts';
export {
  type HeaderField,
  makeHeader,
  type SipMessage,
  SipRequest,
  SipResponse,
} from './message.ts';
export { type ParseOptions, type ParseResult, parseMessage, type Transport } from './parser.ts';
export { type ParseRejectReason, REJECT_INFO, type RejectInfo } from './reasons.ts';
export {
  createResponse,
  newTag,
  REASON_PHRASES,
  type ResponseOptions,
} from './response.ts';
export type { CSeq } from './scalars.ts';
export { serialize, serializeHead } from './serialize.ts';
export { detach } from './text-cache.ts';
export {
  classifyHost,
  isSipUri,
  isTelUri,
  type OpaqueUri,
  parseUri,
  type SipUri,
  type TelUri,
  type Uri,
  unescapePercent,
} from './uri.ts';
export type { ViewResult } from './value-scan.ts';
export { BRANCH_MAGIC_COOKIE, type Via } from './via.ts';
export type { ViewName, ViewTypes } from './views.ts';
