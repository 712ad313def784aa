// The relay's rewrite of an SDP body (offer or answer alike, RFC 3264): every address and
// port a side declared is replaced by the relay's, so the other side sends its media to
// tollgate, and nothing of the sender's network reaches the receiver (topology hiding):
//
//   o=alice 1 2 IN IP4 10.0.0.5         →  o=alice 1 2 IN IP4 <relay>
//   c=IN IP4 10.0.0.5                   →  c=IN IP4 <relay>      (c=IN IP4 0.0.0.0 kept: hold, RFC 3264 §8.4)
//   m=audio 4000 RTP/AVP 0              →  m=audio <even relay port> RTP/AVP 0
//   a=rtcp:4001 IN IP4 10.0.0.5         →  a=rtcp:<relay port + 1> IN IP4 <relay>   (RFC 3605)
//   a=rtcp-mux                          →  kept (RFC 5761: RTCP then shares the RTP port)
//   a=candidate / ice-* lines           →  removed (they name the sender's addresses, and
//                                          the relay is the only path: RFC 8445 §21 agents
//                                          without ICE fall back to the m=/c= address)
//   a stream the relay does not carry   →  port 0 (disabled, RFC 3264 §6)
//
// The address family follows the receiver: an IPv6 caller's offer reaches an IPv4 callee with
// IN IP4 addresses of the relay, and the relay translates between them.
import type { Sdp, SdpAddress, SdpMedia } from './sdp.ts';

/** Attributes that carry ICE state (RFC 8839 §5): meaningless once the relay is the path. */
const ICE_ATTRIBUTES = new Set([
  'candidate',
  'remote-candidates',
  'end-of-candidates',
  'ice-ufrag',
  'ice-pwd',
  'ice-options',
  'ice-lite',
  'ice-mismatch',
  'ice-pacing',
]);

/** Whether the relay carries this stream: any UDP transport (RTP/AVP, UDP/TLS/RTP/SAVPF, udptl). */
export function relayable(m: Pick<SdpMedia, 'proto' | 'port'>): boolean {
  if (m.port === 0) return false;
  const p = m.proto.toUpperCase();
  return p.startsWith('RTP/') || p.startsWith('UDP');
}

/** Whether a stream is on hold in the RFC 2543 way (c=0.0.0.0) or RFC 3264's (§8.4). */
export function isHoldAddress(a: SdpAddress | undefined): boolean {
  return a !== undefined && (a.ip === '0.0.0.0' || a.ip === '::');
}

function attrName(value: string): string {
  const colon = value.indexOf(':');
  return (colon < 0 ? value : value.slice(0, colon)).toLowerCase();
}

function connection(relay: SdpAddress, original: string): string {
  // Keep the hold address as hold, in the receiver's family.
  const parts = original.split(' ');
  const hold = parts[2] !== undefined && /^(0\.0\.0\.0|::)(\/|$)/.test(parts[2]);
  if (hold) return relay.family === 'IP4' ? 'IN IP4 0.0.0.0' : 'IN IP6 ::';
  return `IN ${relay.family} ${relay.ip}`;
}

/**
 * The SDP as the receiver must see it. `ports[i]` is the relay's RTP port for media
 * section i (RTCP on the next port), or undefined to disable the stream. Written straight
 * into the text, CRLF line ends (RFC 4566 §5), without building the rewritten lines first
 * (once per offer and answer of every call).
 */
export function rewriteSdp(
  sdp: Sdp,
  relay: SdpAddress,
  ports: readonly (number | undefined)[],
): string {
  let out = '';
  for (const l of sdp.session) {
    if (l.type === 'a' && ICE_ATTRIBUTES.has(attrName(l.value))) continue;
    if (l.type === 'o') {
      // o=<username> <sess-id> <sess-version> IN <family> <relay>: the first three kept.
      const v = l.value;
      const third = v.indexOf(' ', v.indexOf(' ', v.indexOf(' ') + 1) + 1);
      out += `o=${third < 0 ? v : v.slice(0, third)} IN ${relay.family} ${relay.ip}\r\n`;
    } else if (l.type === 'c') out += `c=${connection(relay, l.value)}\r\n`;
    else out += `${l.type}=${l.value}\r\n`;
  }
  for (let i = 0; i < sdp.media.length; i++) {
    const m = sdp.media[i]!;
    const port = ports[i];
    const formats = m.formats.length ? ` ${m.formats.join(' ')}` : '';
    // A disabled stream keeps only its m= line (RFC 3264 §6): its attributes may name the
    // sender's addresses (a=path, a=setup with a:...), and nothing will use them.
    out += `m=${m.media} ${port ?? 0} ${m.proto}${formats}\r\n`;
    if (port === undefined) continue;
    for (const l of m.lines) {
      if (l.type === 'c') {
        out += `c=${connection(relay, l.value)}\r\n`;
        continue;
      }
      if (l.type === 'a') {
        const name = attrName(l.value);
        if (ICE_ATTRIBUTES.has(name)) continue;
        if (name === 'rtcp') {
          // RFC 3605: the port (and address) RTCP is to be sent to; ours is RTP's + 1.
          out += `a=rtcp:${port + 1} IN ${relay.family} ${relay.ip}\r\n`;
          continue;
        }
      }
      out += `${l.type}=${l.value}\r\n`;
    }
    // A section that had no c= of its own while the session had none cannot occur (the parser
    // refuses it); one that relied on the session's c= is covered by the session's rewrite.
  }
  return out;
}
