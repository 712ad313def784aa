// The SIP area's catalogue of coded errors (see src/errors.ts). Parsing untrusted input never
// throws: parseMessage returns a coded ParseRejectReason instead. These errors are for code
// that asks a message for something it does not have (a typed view of a malformed or missing
// header) and for code that builds messages wrongly (header injection, bad limits).
import { defineErrors } from '../errors.ts';

export const SipErrors = defineErrors('sip', {
  TG_SIP_MALFORMED_HEADER: 'malformed %s header: %s',
  TG_SIP_MISSING_HEADER: 'message has no %s header',
  TG_SIP_HEADER_INJECTION: 'header %s: name must be a token and value must not contain CR or LF',
  TG_SIP_BAD_LIMIT: 'parser limit %s must be a positive integer, got %s',
  TG_SIP_BAD_START_LINE: 'cannot build start line: %s',
});
