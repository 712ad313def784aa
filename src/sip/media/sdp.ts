// A strict, bounded SDP parser (RFC 4566 §5) for the media relay. SDP comes from the
// internet inside INVITEs, responses, ACKs and UPDATEs: every limit below caps the work one
// body can cost, and every refusal is a coded reason (never a throw) that the proxy turns
// into 488 Not Acceptable Here naming what was wrong.
//
//   session-description = v= o= s= [i=] [u=] *e= *p= [c=] *b= 1*(t= *r=) [z=] [k=] *a=
//                         *(m= [i=] *c= *b= [k=] *a=)
//
// The grammar is kept loosely on ordering (some phones put a= before t=) but strictly on
// each line's shape: `<type>=<value>` with a lower-case letter type, no space around '=',
// no control characters, v=0 first. Only the lines the relay reads (o=, c=, m=, a=) are
// parsed further; every other line is carried through untouched.

/** Bounds on one SDP body. A real offer is well under 4 KB and 10 streams. */
export interface SdpLimits {
  readonly maxBytes: number;
  readonly maxLines: number;
  readonly maxLineBytes: number;
  readonly maxMediaSections: number;
  readonly maxFormats: number;
}

export const SDP_LIMITS: SdpLimits = Object.freeze({
  maxBytes: 16_384,
  maxLines: 256,
  maxLineBytes: 1024,
  maxMediaSections: 8,
  maxFormats: 64,
});

/** Why an SDP body was refused; each has a phrase the proxy puts in its 488. */
export const SDP_REJECTS = {
  too_large: 'SDP too large',
  too_many_lines: 'SDP has too many lines',
  line_too_long: 'SDP line too long',
  too_many_media: 'SDP has too many media sections',
  bad_line: 'malformed SDP line',
  bad_version: 'SDP must start with v=0',
  missing_origin: 'SDP has no o= line',
  bad_origin: 'malformed SDP o= line',
  bad_connection: 'malformed SDP c= line',
  missing_connection: 'SDP media without a connection address',
  bad_media: 'malformed SDP m= line',
  bad_port: 'bad SDP media port',
  port_count: 'SDP media with several ports is not relayed',
  too_many_formats: 'SDP media has too many formats',
  bad_rtcp: 'malformed SDP a=rtcp line',
} as const;

export type SdpRejectReason = keyof typeof SDP_REJECTS;

export interface SdpReject {
  readonly ok: false;
  readonly reason: SdpRejectReason;
  readonly detail: string;
}

/** A connection address (c=, a=rtcp): RFC 4566 §5.7. */
export interface SdpAddress {
  readonly family: 'IP4' | 'IP6';
  /** Canonical text, without TTL or count; "0.0.0.0" is RFC 2543 hold. */
  readonly ip: string;
}

/** One line as it came (type letter and the text after '='). */
export interface SdpLine {
  type: string;
  value: string;
}

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
const DIRECTIONS = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

export interface SdpMedia {
  /** audio, video, image, application, … */
  readonly media: string;
  readonly port: number;
  readonly proto: string;
  readonly formats: readonly string[];
  /** The media-level c= address, else the session's. */
  readonly address: SdpAddress | undefined;
  /** a=rtcp (RFC 3605): its port and, when given, address. */
  readonly rtcp: { port: number; address: SdpAddress | undefined } | undefined;
  readonly rtcpMux: boolean;
  /** a=sendrecv etc., media-level over session-level; sendrecv when neither says. */
  readonly direction: Direction;
  /** The lines of the section after m=, in order. */
  readonly lines: SdpLine[];
}

export interface Sdp {
  readonly ok: true;
  /** The session section, v= first. */
  readonly session: SdpLine[];
  readonly media: SdpMedia[];
  /** o= unicast address (topology hiding rewrites it). */
  readonly origin: SdpAddress;
  readonly sessionAddress: SdpAddress | undefined;
}

const reject = (reason: SdpRejectReason, detail: string): SdpReject => ({
  ok: false,
  reason,
  detail: detail.slice(0, 80),
});

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Hex groups and colons (one "::" at most), optionally ending in a dotted quad; checked
// further by canonicalIpv6.
const IPV6_CHARS = /^[0-9a-fA-F:.]{2,45}$/;
const TOKEN = /^[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+$/;
const PORT = /^\d{1,5}$/;

function canonicalIpv6(text: string): string | undefined {
  if (!IPV6_CHARS.test(text)) return undefined;
  try {
    // URL parsing canonicalises an IPv6 literal and refuses a malformed one.
    const host = new URL(`http://[${text}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** `IN IP4 addr[/ttl[/n]]` or `IN IP6 addr[/n]` (RFC 4566 §5.7); multicast is refused. */
export function parseAddress(
  nettype: string,
  addrtype: string,
  text: string,
): SdpAddress | undefined {
  if (nettype !== 'IN') return undefined;
  const addr = text.split('/')[0] ?? '';
  if (addrtype === 'IP4') {
    if (!IPV4.test(addr)) return undefined;
    const first = Number(addr.split('.')[0]);
    if (first >= 224 && first <= 239) return undefined; // multicast: not relayed
    return { family: 'IP4', ip: addr };
  }
  if (addrtype === 'IP6') {
    const ip = canonicalIpv6(addr);
    if (ip === undefined || ip.startsWith('ff')) return undefined;
    return { family: 'IP6', ip };
  }
  return undefined;
}

function parsePort(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const LINE_CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
/**
 * A control character anywhere in a body, but for LF and a CR before LF or at the end: what
 * LINE_CONTROL finds in one of its lines. A body without one (nearly every body) skips the
 * per-line test.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const BODY_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n|$)/;

/**
 * Splits a body into lines, CRLF or bare LF (RFC 4566 §5 asks CRLF, §5 tolerates LF). One
 * pass by index: each line costs its value's string and nothing else.
 */
function splitLines(text: string, limits: SdpLimits): SdpLine[] | SdpReject {
  const len = text.length;
  // As many lines as text.split('\n') has pieces, less the empty one after a final LF.
  let count = len === 0 ? 0 : 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
  if (len > 0 && text.charCodeAt(len - 1) === 0x0a) count--;
  if (count > limits.maxLines) return reject('too_many_lines', `${count} lines`);
  const clean = !BODY_CONTROL.test(text);
  const out: SdpLine[] = [];
  for (let start = 0; start < len; ) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = len;
    let end = nl;
    if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
    const lineStart = start;
    start = nl + 1;
    if (end - lineStart > limits.maxLineBytes)
      return reject('line_too_long', text.slice(lineStart, lineStart + 20));
    if (end === lineStart) continue; // a trailing blank line some stacks add
    const type = text.charCodeAt(lineStart);
    if (
      type < 0x61 ||
      type > 0x7a ||
      lineStart + 1 >= end ||
      text.charCodeAt(lineStart + 1) !== 0x3d
    )
      return reject('bad_line', text.slice(lineStart, Math.min(lineStart + 20, end)));
    // RFC 4566 §5: text fields may be any octet but NUL, CR and LF; CR is already gone here
    // except inside a line, which is as malformed as any other control character.
    if (!clean && LINE_CONTROL.test(text.slice(lineStart, end)))
      return reject('bad_line', 'control character');
    out.push({ type: text[lineStart]!, value: text.slice(lineStart + 2, end) });
  }
  return out;
}

function parseConnection(value: string): SdpAddress | SdpReject {
  const parts = value.split(' ');
  if (parts.length !== 3) return reject('bad_connection', value);
  const a = parseAddress(parts[0]!, parts[1]!, parts[2]!);
  return a ?? reject('bad_connection', value);
}

interface MediaDraft {
  media: string;
  port: number;
  proto: string;
  formats: string[];
  lines: SdpLine[];
}

function parseMediaLine(value: string, limits: SdpLimits): MediaDraft | SdpReject {
  const parts = value.split(' ');
  if (parts.length < 3) return reject('bad_media', value);
  const [media, portText, proto, ...formats] = parts as [string, string, string, ...string[]];
  if (!TOKEN.test(media) || !/^[A-Za-z0-9/_.-]+$/.test(proto)) return reject('bad_media', value);
  if (portText.includes('/')) return reject('port_count', value);
  const port = parsePort(portText);
  if (port === undefined) return reject('bad_port', value);
  if (formats.length > limits.maxFormats) return reject('too_many_formats', value);
  for (const f of formats) if (!TOKEN.test(f)) return reject('bad_media', value);
  return { media, port, proto, formats, lines: [] };
}

/** Parses an SDP body; never throws. */
export function parseSdp(body: Buffer | string, limits: SdpLimits = SDP_LIMITS): Sdp | SdpReject {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > limits.maxBytes) return reject('too_large', `${size} bytes`);
  const text = typeof body === 'string' ? body : body.toString('latin1');
  if (!/^v=0\r?\n/.test(text)) return reject('bad_version', text.slice(0, 20));
  const lines = splitLines(text, limits);
  if (!Array.isArray(lines)) return lines;
  if (lines[0]?.type !== 'v' || lines[0].value !== '0') return reject('bad_version', '');

  const session: SdpLine[] = [];
  const drafts: MediaDraft[] = [];
  for (const line of lines) {
    if (line.type === 'm') {
      if (drafts.length >= limits.maxMediaSections)
        return reject('too_many_media', `more than ${limits.maxMediaSections}`);
      const m = parseMediaLine(line.value, limits);
      if ('ok' in m) return m;
      drafts.push(m);
    } else if (drafts.length === 0) session.push(line);
    else drafts[drafts.length - 1]!.lines.push(line);
  }

  const o = session.find((l) => l.type === 'o');
  if (o === undefined) return reject('missing_origin', '');
  // o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
  const op = o.value.split(' ');
  if (op.length !== 6) return reject('bad_origin', o.value);
  // The origin address is informational (§5.2) and may be a name: anything but a well-formed
  // token is refused; a non-IP is kept as is.
  const origin = parseAddress(op[3]!, op[4]!, op[5]!) ?? {
    family: op[4] === 'IP6' ? 'IP6' : 'IP4',
    ip: op[5]!,
  };
  if (!TOKEN.test(op[5]!) && !canonicalIpv6(op[5]!)) return reject('bad_origin', o.value);

  let sessionAddress: SdpAddress | undefined;
  let sessionDirection: Direction = 'sendrecv';
  for (const l of session) {
    if (l.type === 'c') {
      if (sessionAddress !== undefined) return reject('bad_connection', 'two session c= lines');
      const c = parseConnection(l.value);
      if ('ok' in c) return c;
      sessionAddress = c;
    } else if (l.type === 'a' && DIRECTIONS.has(l.value)) sessionDirection = l.value as Direction;
  }

  const media: SdpMedia[] = [];
  for (const d of drafts) {
    let address: SdpAddress | undefined;
    let rtcp: SdpMedia['rtcp'];
    let rtcpMux = false;
    let direction = sessionDirection;
    for (const l of d.lines) {
      if (l.type === 'c') {
        // Several c= in one section are multicast layering (§5.7): not relayed.
        if (address !== undefined) return reject('bad_connection', 'two media c= lines');
        const c = parseConnection(l.value);
        if ('ok' in c) return c;
        address = c;
      } else if (l.type === 'a') {
        const v = l.value;
        const colon = v.indexOf(':');
        const name = (colon < 0 ? v : v.slice(0, colon)).toLowerCase();
        if (name === 'rtcp-mux') rtcpMux = true;
        else if (DIRECTIONS.has(name) && (colon < 0 || colon === v.length - 1))
          direction = name as Direction;
        else if (name === 'rtcp') {
          // a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605 §2.1)
          const p = (colon < 0 ? '' : v.slice(colon + 1)).split(' ');
          const port = parsePort(p[0] ?? '');
          if (port === undefined || (p.length !== 1 && p.length !== 4))
            return reject('bad_rtcp', l.value);
          const a = p.length === 4 ? parseAddress(p[1]!, p[2]!, p[3]!) : undefined;
          if (p.length === 4 && a === undefined) return reject('bad_rtcp', l.value);
          rtcp = { port, address: a };
        }
      }
    }
    address ??= sessionAddress;
    if (address === undefined && d.port !== 0) return reject('missing_connection', d.media);
    media.push({
      media: d.media,
      port: d.port,
      proto: d.proto,
      formats: d.formats,
      lines: d.lines,
      address,
      rtcp,
      rtcpMux,
      direction,
    });
  }
  return { ok: true, session, media, origin, sessionAddress };
}
