// Why parseMessage refused a buffer, and what a correct element does about it.
//
// `status` is the response a server would send for a *request* rejected this way (RFC 3261
// §21, RFC 4475 §3.1.2). A malformed *response* is never answered: it is dropped (RFC 3261
// §18.1.2, RFC 4475 §3.1.2.19), so parseMessage only sets `status` when the start line was a
// request line. `malformed` says whether the guard should count it as a wrong message from the
// source: a keepalive or a partial stream read is not an offence.

export type ParseRejectReason =
  | 'keepalive'
  | 'incomplete'
  | 'message_too_large'
  | 'too_many_headers'
  | 'line_too_long'
  | 'uri_too_long'
  | 'too_many_via'
  | 'content_length_too_large'
  | 'bad_line_ending'
  | 'missing_header_end'
  | 'bad_start_line'
  | 'bad_method'
  | 'bad_request_uri'
  | 'bad_version'
  | 'unsupported_version'
  | 'bad_status_code'
  | 'bad_reason_phrase'
  | 'bad_header'
  | 'bad_content_length'
  | 'conflicting_content_length'
  | 'missing_content_length'
  | 'body_truncated'
  | 'internal_error';

export interface RejectInfo {
  /** Suggested status for a request; absent means drop silently. */
  readonly status?: number;
  /** Reason phrase to send with `status`. */
  readonly phrase?: string;
  /** Counts as a wrong message from the source. */
  readonly malformed: boolean;
}

export const REJECT_INFO: Readonly<Record<ParseRejectReason, RejectInfo>> = Object.freeze({
  // CRLF keepalives (RFC 5626 §4.4.1) and CRLFs before a start line (RFC 3261 §7.5).
  keepalive: { malformed: false },
  // Stream transports only: the message is not all here yet; read more.
  incomplete: { malformed: false },
  // RFC 3261 §21.5.14 "513 Message Too Large".
  message_too_large: { status: 513, phrase: 'Message Too Large', malformed: true },
  too_many_headers: { status: 400, phrase: 'Too Many Header Fields', malformed: true },
  line_too_long: { status: 400, phrase: 'Header Field Too Long', malformed: true },
  // RFC 3261 §21.4.12 "414 Request-URI Too Long".
  uri_too_long: { status: 414, phrase: 'Request-URI Too Long', malformed: true },
  too_many_via: { status: 400, phrase: 'Too Many Via Values', malformed: true },
  // RFC 3261 §21.4.11 "413 Request Entity Too Large": the body is what is too big.
  content_length_too_large: { status: 413, phrase: 'Request Entity Too Large', malformed: true },
  bad_line_ending: { status: 400, phrase: 'Bad Line Ending', malformed: true },
  missing_header_end: { status: 400, phrase: 'Missing Empty Line', malformed: true },
  // RFC 4475 §3.1.2.8-10: extra or missing SP in the Request-Line.
  bad_start_line: { status: 400, phrase: 'Bad Start Line', malformed: true },
  bad_method: { status: 400, phrase: 'Bad Method', malformed: true },
  // RFC 4475 §3.1.2.7: <> around the Request-URI.
  bad_request_uri: { status: 400, phrase: 'Bad Request-URI', malformed: true },
  bad_version: { status: 400, phrase: 'Bad SIP Version', malformed: true },
  // RFC 4475 §3.1.2.16, RFC 3261 §21.5.7 "505 Version Not Supported".
  unsupported_version: { status: 505, phrase: 'Version Not Supported', malformed: true },
  // RFC 4475 §3.1.2.19: only responses carry one; they are dropped.
  bad_status_code: { malformed: true },
  bad_reason_phrase: { malformed: true },
  bad_header: { status: 400, phrase: 'Bad Header Field', malformed: true },
  // RFC 4475 §3.1.2.3 negative or non-numeric Content-Length.
  bad_content_length: { status: 400, phrase: 'Bad Content-Length', malformed: true },
  // RFC 4475 §3.3.9: framing is impossible on a stream; the connection must be closed.
  conflicting_content_length: {
    status: 400,
    phrase: 'Multiple Content-Length Values',
    malformed: true,
  },
  // RFC 3261 §18.3: Content-Length MUST be present on stream transports.
  missing_content_length: { status: 400, phrase: 'Missing Content-Length', malformed: true },
  // RFC 4475 §3.1.2.2: a datagram shorter than its Content-Length.
  body_truncated: { status: 400, phrase: 'Content-Length Exceeds Message', malformed: true },
  // A bug in the parser, not in the input; still never thrown at the caller.
  internal_error: { status: 500, phrase: 'Server Internal Error', malformed: false },
});
