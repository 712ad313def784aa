// The web layer's coded errors (src/errors.ts explains the catalogues). Each becomes an HTTP
// status in server.ts (statusOf) and a JSON body {code, message, field?}.
import { defineErrors } from '../errors.ts';

export const WebErrors = defineErrors('webui', {
  TG_WEB_BAD_INPUT: 'bad input: %s %s',
  TG_WEB_UNAUTHENTICATED: 'authentication required: %s',
  TG_WEB_BAD_CREDENTIALS: 'wrong credentials',
  TG_WEB_FORBIDDEN: 'forbidden: %s',
  TG_WEB_SOURCE_REFUSED: 'requests from this address are not accepted (%s)',
  TG_WEB_NONCE: 'nonce refused: %s (apidefneedlogin 3)',
  TG_WEB_CSRF: 'missing or invalid CSRF token',
  TG_WEB_JSONP_DISABLED: 'JSONP is disabled (enablejsonp %s)',
  TG_WEB_UPLOAD_DISABLED: 'file uploads are disabled (allowhttpfileupload 0)',
  TG_WEB_NOT_FOUND: 'not found: %s',
  TG_WEB_RATE_LIMITED: 'too many requests; retry in %s',
  TG_WEB_NOT_AVAILABLE: '%s is not available in this daemon',
  TG_WEB_ACME: 'ACME: %s',
  TG_WEB_LISTEN: 'cannot listen on %s: %s',
});

/** The HTTP status each code answers with. */
export function statusOf(code: string): number {
  switch (code) {
    case 'TG_WEB_BAD_INPUT':
      return 400;
    case 'TG_WEB_UNAUTHENTICATED':
    case 'TG_WEB_BAD_CREDENTIALS':
      return 401;
    case 'TG_WEB_FORBIDDEN':
    case 'TG_WEB_SOURCE_REFUSED':
    case 'TG_WEB_NONCE':
    case 'TG_WEB_CSRF':
    case 'TG_WEB_JSONP_DISABLED':
      return 403;
    case 'TG_WEB_NOT_FOUND':
      return 404;
    case 'TG_WEB_UPLOAD_DISABLED':
      return 415;
    case 'TG_WEB_RATE_LIMITED':
      return 429;
    case 'TG_WEB_NOT_AVAILABLE':
      return 501;
    default:
      return 500;
  }
}
