// The media relay: every call's RTP and RTCP go through tollgate, so a phone only ever
// learns tollgate's address, media from anyone but the call's parties is dropped, early media
// can be muted, and a call whose media stopped is noticed (mediatimeout).
//
// Per call (Call-ID) and per media section (m= line) the relay holds two port pairs (even
// RTP, odd RTCP; ports.ts): one facing the caller, one facing the callee. An SDP body from
// one side (offer or answer alike: INVITE, 18x, 2xx, ACK, re-INVITE, UPDATE) tells where
// that side receives; it is rewritten with the pair facing the other side (rewrite.ts), so
// the other side sends there. A packet arriving on the pair facing side S comes from S and
// is sent, from the pair facing the other side, to that side:
//
//     caller ──► [caller-facing pair] ──relay──► [callee-facing pair] ──► callee
//     caller ◄── [caller-facing pair] ◄──relay── [callee-facing pair] ◄── callee
//
// checkrtpaddr decides which sources a pair accepts: 0 any (the first one is learned as
// the side's address for the way back), 1 the first one only (latched; symmetric RTP,
// RFC 4961), 2 only the address and port of the side's SDP. A side's new SDP address (a
// re-INVITE that moves the media) forgets what was latched on its pair.
//
// Where the packets are forwarded depends on the dataplane (kernel.ts): in XDP mode a pair
// whose source is known (at once with checkrtpaddr 2, after the first packet with 1 and 0)
// is programmed into the kernel, which then forwards without waking this process; in nft
// and off modes the sockets below forward every packet (the kernel only filters sources).
//
// A released port keeps its socket, bound, for a while (IDLE_CLOSE_MS): creating, binding
// and closing four sockets per call was a tenth of the daemon's CPU under load. While
// released, the socket belongs to no call and drops whatever reaches it. A pair is handed
// out again only after every other free pair (ports.ts), and its sockets are reused only
// when it was released at least QUARANTINE_MS before: a socket released more recently is
// closed and bound afresh, so a datagram of the old call still queued in it is discarded
// with it and never reaches the next call.
import { createSocket, type Socket } from 'node:dgram';
import type { ConfigView } from '../../config/settings.ts';
import type { Logger } from '../../log.ts';
import type { Clock } from '../transaction/clock.ts';
import { lookupIp } from '../transport/lookup-ip.ts';
import { type CallKinds, type EarlyMediaRule, earlyMediaRule } from './early-media.ts';
import { type Endpoint, type MediaKernel, NO_KERNEL, type RelayLeg } from './kernel.ts';
import { type PortPair, RelayPorts } from './ports.ts';
import { isHoldAddress, relayable, rewriteSdp } from './rewrite.ts';
import { parseSdp, SDP_REJECTS, type SdpAddress, type SdpMedia } from './sdp.ts';

export type Side = 'caller' | 'callee';
const OTHER: Record<Side, Side> = { caller: 'callee', callee: 'caller' };
const SIDES = ['caller', 'callee'] as const;
/** RTP (0) and RTCP (1). */
const KINDS = [0, 1] as const;

/** The configuration keys the relay reads. */
export const MEDIA_KEYS = [
  'checkrtpaddr',
  'earlystart',
  'blockearlymedia',
  'blockearlymedia_in',
  'mediaportmin',
  'mediaportmax',
  'mediatimeout',
] as const;

export type MediaConfig = ConfigView<(typeof MEDIA_KEYS)[number]>;

/** What the proxy knows of a call when an SDP body passes: who owns the ports, who is who. */
export interface SdpContext {
  /** The caller's address: the ports count against its share (ports.ts). */
  readonly owner: string;
  /** The relay's address as each side reaches it (the one it reaches our SIP on). */
  readonly relay: Readonly<Record<Side, SdpAddress>>;
  readonly kinds: CallKinds;
}

export type SdpOutcome =
  | { ok: true; body: Buffer }
  | { ok: false; status: 488 | 503; reason: string };

/**
 * Why the relay dropped a packet: a source the leg does not accept, early media muted, no
 * address known to send it to, or a port no call holds (its socket kept after the call:
 * userspace sees those in mode off only, the kernel drops them in the other modes).
 */
export type MediaDropReason = 'source' | 'early' | 'nopeer' | 'released';

export interface MediaStats {
  sessions: number;
  portsInUse: number;
  portsFree: number;
  /** Packets this process forwarded (userspace). */
  forwarded: number;
  /** Packets this process received on relay ports (0 after latching in XDP mode). */
  received: number;
  dropped: Record<MediaDropReason, number>;
}

export interface SessionInfo {
  callId: string;
  /** Relay ports per stream: caller-facing RTP, RTCP, then callee-facing RTP, RTCP. */
  ports: number[];
  /** Packets this process forwarded. */
  forwarded: number;
  /** Packets dropped: by this process, and by the kernel as of the last sweep. */
  dropped: number;
  answered: boolean;
}

export interface MediaRelayDeps {
  config: MediaConfig;
  log: Logger;
  clock: Clock;
  kernel?: MediaKernel;
  /** Address family of the sockets: 'udp6' (dual stack, default) or 'udp4'. */
  socketType?: 'udp4' | 'udp6';
}

/** Socket index: 0 RTP, 1 RTCP. */
type Kind = 0 | 1;

/** A released port's socket is reused only after this long (a late datagram is dropped). */
export const QUARANTINE_MS = 2_000;
/** A released port's socket is closed when no call has taken it for this long. */
export const IDLE_CLOSE_MS = 60_000;

/** A bound relay socket: serving one leg of a call, or released (everything dropped). */
interface RelaySocket {
  readonly port: number;
  readonly socket: Socket;
  /** The call, stream, leg and kind it serves; undefined while released. */
  session: Session | undefined;
  stream: Stream | undefined;
  leg: Leg | undefined;
  kind: Kind;
  /** When it was last released (clock time), for the quarantine and the idle close. */
  releasedAt: number;
  /** Its port turned out to be another process's: closed, never used again. */
  broken: boolean;
  /** Released and still bound: its place in the relay's idle list (release order). */
  idle: boolean;
  idlePrev: RelaySocket | undefined;
  idleNext: RelaySocket | undefined;
}

/**
 * The sockets of released ports, still bound, oldest release first: a list through the
 * sockets themselves and an index by port, where a Map of ~10,000 ports took a delete and an
 * insertion per socket at every release and every bind (four sockets per call).
 */
class IdleSockets {
  #head: RelaySocket | undefined = undefined;
  #tail: RelaySocket | undefined = undefined;
  /** By port: every port's slot, filled up front (an array with holes would be a hash table). */
  readonly #byPort: (RelaySocket | undefined)[] = new Array(65_536).fill(undefined);

  /** The idle socket of `port`, taken out of the list; undefined if there is none. */
  take(port: number): RelaySocket | undefined {
    const r = this.#byPort[port];
    if (r === undefined) return undefined;
    this.remove(r);
    return r;
  }

  /** Appends `r` as the most recently released (moved there if it was idle already). */
  push(r: RelaySocket): void {
    if (r.idle) this.remove(r);
    r.idle = true;
    r.idlePrev = this.#tail;
    r.idleNext = undefined;
    if (this.#tail === undefined) this.#head = r;
    else this.#tail.idleNext = r;
    this.#tail = r;
    this.#byPort[r.port] = r;
  }

  remove(r: RelaySocket): void {
    if (!r.idle) return;
    const prev = r.idlePrev;
    const next = r.idleNext;
    if (prev === undefined) this.#head = next;
    else prev.idleNext = next;
    if (next === undefined) this.#tail = prev;
    else next.idlePrev = prev;
    r.idle = false;
    r.idlePrev = r.idleNext = undefined;
    if (this.#byPort[r.port] === r) this.#byPort[r.port] = undefined;
  }

  /** The socket released longest ago. */
  get oldest(): RelaySocket | undefined {
    return this.#head;
  }
}

/** The pair of ports facing one side of one stream. */
interface Leg {
  readonly side: Side;
  readonly pair: PortPair;
  readonly sockets: [RelaySocket | undefined, RelaySocket | undefined];
  /** Where the side receives RTP and RTCP (its SDP); undefined: not known, or on hold. */
  sdp: [Endpoint | undefined, Endpoint | undefined];
  rtcpMux: boolean;
  /** The source learned per socket (checkrtpaddr 0 and 1). */
  latched: [Endpoint | undefined, Endpoint | undefined];
  /** What the kernel was last told per socket (undefined: nothing), so it is told only changes. */
  programmed: [RelayLeg | undefined, RelayLeg | undefined];
  /**
   * Kernel operations on this pair, in order: the last one queued, undefined when none is
   * pending (the next one then starts at once, with no wait on a settled promise).
   */
  ops: Promise<void> | undefined;
  /** Bumped per operation queued: the last one to finish sees its own and clears `ops`. */
  opSeq: number;
}

interface Stream {
  readonly legs: Record<Side, Leg>;
}

interface Session {
  readonly callId: string;
  readonly owner: string;
  /** By media section index; undefined for a section never relayed. */
  readonly streams: (Stream | undefined)[];
  relay: Record<Side, SdpAddress>;
  early: EarlyMediaRule;
  answered: boolean;
  ended: boolean;
  /** A packet was seen (by a socket or a kernel counter) since the last sweep. */
  active: boolean;
  /** Kernel forwarded-packet totals at the last sweep, per port. */
  kernelSeen: Map<number, number> | undefined;
  /** Packets the kernel dropped on the call's ports (other sources), as of the last sweep. */
  kernelDropped: number;
  forwarded: number;
  dropped: number;
}

/** RFC 5761 §4: with rtcp-mux, an RTCP packet's second octet is 192..223 (its type). */
function isRtcp(msg: Buffer): boolean {
  const pt = msg.length > 1 ? msg[1]! : 0;
  return pt >= 192 && pt <= 223;
}

function live(s: Session): Stream[] {
  return s.streams.filter((st) => st !== undefined);
}

function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.ip === b.ip && a.port === b.port);
}

/**
 * Whether the leg the kernel was told is the one wanted now (field by field: most passes
 * change nothing, and then build nothing). The local port is the leg's own.
 */
function sameLeg(
  was: RelayLeg,
  peer: Endpoint | undefined,
  otherSources: 'userspace' | 'drop',
  to: Endpoint,
  fromIp: string,
  fromPort: number,
): boolean {
  return (
    sameEndpoint(was.expectedPeer ?? undefined, peer) &&
    was.otherSources === otherSources &&
    sameEndpoint(was.forwardTo, to) &&
    was.forwardFrom.ip === fromIp &&
    was.forwardFrom.port === fromPort
  );
}

/** The source of a datagram on a dual-stack socket, as the SDP writes it. */
function sourceIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export class MediaRelay {
  readonly #d: MediaRelayDeps;
  readonly #kernel: MediaKernel;
  readonly #ports: RelayPorts;
  readonly #sessions = new Map<string, Session>();
  /** Sockets of released ports, still bound (first released first). */
  readonly #idle = new IdleSockets();
  readonly #socketType: 'udp4' | 'udp6';
  #sweep: unknown;
  /**
   * Told, for each call, that its media moved (at its first SDP, then once per sweep with
   * packets). Answers false when the proxy no longer knows the call: its ports are released.
   */
  onActivity: ((callId: string) => boolean) | undefined;
  #closed = false;
  /** Releases whose kernel legs are still being removed (close() waits for them). */
  readonly #releasing = new Set<Promise<unknown>>();
  readonly #stats: MediaStats = {
    sessions: 0,
    portsInUse: 0,
    portsFree: 0,
    forwarded: 0,
    received: 0,
    dropped: { source: 0, early: 0, nopeer: 0, released: 0 },
  };

  constructor(d: MediaRelayDeps) {
    this.#d = d;
    this.#kernel = d.kernel ?? NO_KERNEL;
    this.#ports = new RelayPorts(d.config.mediaportmin, d.config.mediaportmax);
    this.#socketType = d.socketType ?? 'udp6';
    this.#armSweep();
  }

  get stats(): MediaStats {
    return {
      ...this.#stats,
      dropped: { ...this.#stats.dropped },
      sessions: this.#sessions.size,
      portsInUse: this.#ports.inUse * 2,
      portsFree: this.#ports.available * 2,
    };
  }

  get kernelForwarding(): boolean {
    return this.#kernel.kernelForwarding;
  }

  /** Does the call have relay ports (its media not ended)? */
  has(callId: string): boolean {
    return this.#sessions.has(callId);
  }

  /** The call's relay, for `tollgatectl calls`; undefined when it has none. */
  session(callId: string): SessionInfo | undefined {
    const s = this.#sessions.get(callId);
    if (s === undefined) return undefined;
    return {
      callId,
      ports: live(s).flatMap((st) => [
        st.legs.caller.pair.rtp,
        st.legs.caller.pair.rtcp,
        st.legs.callee.pair.rtp,
        st.legs.callee.pair.rtcp,
      ]),
      forwarded: s.forwarded,
      dropped: s.dropped + s.kernelDropped,
      answered: s.answered,
    };
  }

  /**
   * An SDP body from `side` of call `callId`: where that side receives is noted, and the body
   * the other side must get is returned (or why the message must be refused).
   */
  sdp(callId: string, side: Side, body: Buffer, ctx: SdpContext): SdpOutcome {
    if (this.#closed) return { ok: false, status: 503, reason: 'Media Relay Stopped' };
    const sdp = parseSdp(body);
    if (!sdp.ok) {
      this.#d.log.info({ callId, reason: sdp.reason, detail: sdp.detail }, 'SDP refused');
      return { ok: false, status: 488, reason: SDP_REJECTS[sdp.reason] };
    }
    let session = this.#sessions.get(callId);
    const created = session === undefined;
    if (session === undefined) {
      session = {
        callId,
        owner: ctx.owner,
        streams: [],
        relay: { caller: ctx.relay.caller, callee: ctx.relay.callee },
        early: earlyMediaRule(this.#d.config, ctx.kinds),
        answered: false,
        ended: false,
        active: false,
        kernelSeen: undefined, // XDP mode only: made at its first sweep
        kernelDropped: 0,
        forwarded: 0,
        dropped: 0,
      };
    }
    // Ports for every relayed stream not relayed yet (RFC 3264 §8: sections are only ever
    // added, and a disabled one may be enabled later, so indices stay aligned).
    const fresh: number[] = [];
    for (let i = 0; i < sdp.media.length; i++) {
      if (session.streams[i] !== undefined || !relayable(sdp.media[i]!)) continue;
      const stream = this.#openStream(session);
      if (typeof stream === 'string') {
        for (const j of fresh) {
          this.#releaseStream(session.streams[j]!);
          session.streams[j] = undefined;
        }
        const reason =
          stream === 'share' ? 'Too Many Media Ports For Caller' : 'Media Ports Exhausted';
        this.#d.log.warn({ callId, ip: ctx.owner, rule: stream }, 'no media ports');
        return { ok: false, status: 503, reason };
      }
      session.streams[i] = stream;
      fresh.push(i);
    }
    if (created) {
      this.#sessions.set(callId, session);
      // The proxy's mediatimeout starts with the ports: media that never starts is caught too.
      this.#activity(session);
    }

    const ports: (number | undefined)[] = [];
    for (let i = 0; i < sdp.media.length; i++) {
      const m = sdp.media[i]!;
      const stream = session.streams[i];
      if (stream !== undefined) this.#learnSdp(stream.legs[side], m);
      ports.push(stream && relayable(m) ? stream.legs[OTHER[side]].pair.rtp : undefined);
    }
    for (const stream of session.streams) if (stream) this.#program(session, stream);
    const text = rewriteSdp(sdp, session.relay[OTHER[side]], ports);
    return { ok: true, body: Buffer.from(text, 'latin1') };
  }

  /** The call was answered (2xx): early-media rules no longer apply. */
  answered(callId: string): void {
    const s = this.#sessions.get(callId);
    if (s === undefined || s.answered) return;
    s.answered = true;
    for (const stream of s.streams) if (stream) this.#program(s, stream);
  }

  /** The call is over: its ports stop relaying at once and go back to the pool. */
  end(callId: string): void {
    const s = this.#sessions.get(callId);
    if (s === undefined) return;
    this.#sessions.delete(callId);
    this.#release(s);
  }

  /** Stops everything (daemon shutdown): every port closed, kernel legs removed. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#d.clock.clearTimeout(this.#sweep);
    for (const s of [...this.#sessions.values()]) {
      this.#sessions.delete(s.callId);
      this.#release(s);
    }
    for (let r = this.#idle.oldest; r !== undefined; r = this.#idle.oldest) {
      this.#idle.remove(r);
      r.socket.close();
    }
    await Promise.allSettled([...this.#releasing]);
  }

  #openStream(session: Session): Stream | 'exhausted' | 'share' {
    const a = this.#ports.take(session.owner);
    if (typeof a === 'string') return a;
    const b = this.#ports.take(session.owner);
    if (typeof b === 'string') {
      this.#ports.release(a.rtp);
      return b;
    }
    const stream: Stream = {
      legs: { caller: this.#leg(session, 'caller', a), callee: this.#leg(session, 'callee', b) },
    };
    this.#bind(session, stream, stream.legs.caller);
    this.#bind(session, stream, stream.legs.callee);
    return stream;
  }

  #leg(_session: Session, side: Side, pair: PortPair): Leg {
    return {
      side,
      pair,
      sockets: [undefined, undefined],
      sdp: [undefined, undefined],
      rtcpMux: false,
      latched: [undefined, undefined],
      programmed: [undefined, undefined],
      ops: undefined,
      opSeq: 0,
    };
  }

  #bind(session: Session, stream: Stream, leg: Leg): void {
    for (const kind of KINDS) {
      const port = kind === 0 ? leg.pair.rtp : leg.pair.rtcp;
      let r = this.#idle.take(port);
      if (r !== undefined) {
        if (this.#d.clock.now() - r.releasedAt < QUARANTINE_MS) {
          // Released too recently: what it may still hold of the old call goes with it.
          r.socket.close();
          r = undefined;
        }
      }
      r ??= this.#open(port, leg.pair.rtp);
      r.session = session;
      r.stream = stream;
      r.leg = leg;
      r.kind = kind;
      // A refused bind reports its error from inside bind() (#open: the address is looked up
      // at once): that socket is already closed and marked, and the leg goes without it.
      if (!r.broken) leg.sockets[kind] = r;
    }
  }

  /** A socket bound to `port`, serving nothing yet. */
  #open(port: number, pairRtp: number): RelaySocket {
    // Bound to, and sending to, IP addresses only: answered at once (lookupIp), not by
    // dns.lookup on the next tick for the bind and for every packet relayed in userspace.
    const socket =
      this.#socketType === 'udp6'
        ? createSocket({ type: 'udp6', ipv6Only: false, lookup: lookupIp as never })
        : createSocket({ type: 'udp4', lookup: lookupIp as never });
    const r: RelaySocket = {
      port,
      socket,
      session: undefined,
      stream: undefined,
      leg: undefined,
      kind: 0,
      releasedAt: 0,
      broken: false,
      idle: false,
      idlePrev: undefined,
      idleNext: undefined,
    };
    socket.on('error', (err) => {
      // Another process holds the port (the range should be the relay's alone): the port
      // is never handed out again, and this stream of this call has no media that way.
      this.#d.log.warn({ port, err }, 'media port unusable');
      this.#ports.markBroken(pairRtp);
      r.broken = true;
      socket.close();
      if (r.leg !== undefined && r.leg.sockets[r.kind] === r) r.leg.sockets[r.kind] = undefined;
      this.#idle.remove(r);
      r.session = r.stream = r.leg = undefined;
    });
    socket.on('message', (msg, rinfo) => {
      // Released: no call's datagram any more (a late one of the call that had it).
      if (r.session === undefined) return void this.#stats.dropped.released++;
      this.#packet(r.session, r.stream!, r.leg!, r.kind, msg, sourceIp(rinfo.address), rinfo.port);
    });
    socket.bind({
      port,
      address: this.#socketType === 'udp6' ? '::' : '0.0.0.0',
      exclusive: true,
    });
    return r;
  }

  /** Sockets of ports no call has taken for IDLE_CLOSE_MS are closed (file descriptors). */
  #closeIdle(): void {
    const now = this.#d.clock.now();
    // In release order: the first one released recently enough ends the walk.
    for (let r = this.#idle.oldest; r !== undefined; r = this.#idle.oldest) {
      if (now - r.releasedAt < IDLE_CLOSE_MS) break;
      this.#idle.remove(r);
      r.socket.close();
    }
  }

  /** Where a side receives, from its SDP section (hold and disabled streams: nowhere). */
  #learnSdp(leg: Leg, m: SdpMedia): void {
    let rtp: Endpoint | undefined;
    let rtcp: Endpoint | undefined;
    if (relayable(m) && m.address !== undefined && !isHoldAddress(m.address)) {
      rtp = { ip: m.address.ip, port: m.port };
      const rtcpIp = m.rtcp?.address?.ip ?? m.address.ip;
      rtcp = m.rtcpMux ? rtp : { ip: rtcpIp, port: m.rtcp?.port ?? m.port + 1 };
    }
    if (!sameEndpoint(rtp, leg.sdp[0]) || !sameEndpoint(rtcp, leg.sdp[1])) {
      // The side moved its media (or put it on hold): what was latched is stale.
      leg.latched = [undefined, undefined];
    }
    leg.sdp = [rtp, rtcp];
    leg.rtcpMux = m.rtcpMux;
  }

  #mayFlow(session: Session, from: Side): boolean {
    if (session.answered) return true;
    return from === 'caller' ? session.early.callerToCallee : session.early.calleeToCaller;
  }

  /** One datagram on a relay port (userspace path: nft/off modes, and XDP before latching). */
  #packet(
    session: Session,
    stream: Stream,
    leg: Leg,
    kind: Kind,
    msg: Buffer,
    ip: string,
    port: number,
  ): void {
    if (session.ended) return;
    const st = this.#stats;
    st.received++;
    session.active = true;
    const mode = Number(this.#d.config.checkrtpaddr);
    if (mode === 2) {
      const want = leg.sdp[kind];
      if (want === undefined || want.ip !== ip || want.port !== port)
        return void this.#drop(session, 'source');
    } else {
      const latched = leg.latched[kind];
      if (latched === undefined) {
        leg.latched[kind] = { ip, port };
        this.#program(session, stream);
      } else if (mode === 1 && (latched.ip !== ip || latched.port !== port))
        return void this.#drop(session, 'source');
    }
    if (!this.#mayFlow(session, leg.side)) return void this.#drop(session, 'early');
    const other = stream.legs[OTHER[leg.side]];
    // RTCP multiplexed on the RTP port by this side goes to the other side's RTCP place.
    const out: Kind = kind === 0 && leg.rtcpMux && isRtcp(msg) ? 1 : kind;
    const dest = other.latched[out] ?? other.sdp[out];
    const socket = other.rtcpMux ? other.sockets[0] : other.sockets[out];
    if (dest === undefined || socket === undefined) return void this.#drop(session, 'nopeer');
    const to =
      this.#socketType === 'udp6' && !dest.ip.includes(':') ? `::ffff:${dest.ip}` : dest.ip;
    socket.socket.send(msg, dest.port, to);
    st.forwarded++;
    session.forwarded++;
  }

  #drop(session: Session, reason: MediaDropReason): void {
    this.#stats.dropped[reason]++;
    session.dropped++;
  }

  /**
   * Tells the kernel what it may do with each port of the stream now: the leg of a port is
   * opened once the other side's address is known and the direction may flow, with the
   * accepted source once it is known (checkrtpaddr 2: the SDP's; 1 and 0: the latched one).
   */
  #program(session: Session, stream: Stream): void {
    if (session.ended) return;
    const mode = Number(this.#d.config.checkrtpaddr);
    for (const side of SIDES) {
      const leg = stream.legs[side];
      const other = stream.legs[OTHER[side]];
      // The ports of this leg whose kernel state changes (bit 0 RTP, bit 1 RTCP): one
      // queued operation for both.
      let changed = 0;
      for (const kind of KINDS) {
        const localPort = kind === 0 ? leg.pair.rtp : leg.pair.rtcp;
        const forwardTo = other.latched[kind] ?? other.sdp[kind];
        // Mixed rtcp-mux needs a look at each packet: such a stream stays in userspace.
        const muxMatch = leg.rtcpMux === other.rtcpMux;
        // The leg wanted: compared with what the kernel has before anything is built.
        let want: RelayLeg | undefined;
        const was = leg.programmed[kind];
        if (forwardTo !== undefined && muxMatch && this.#mayFlow(session, side)) {
          const expectedPeer = mode === 2 ? leg.sdp[kind] : leg.latched[kind];
          if (mode !== 2 || expectedPeer !== undefined) {
            const fromPort = (other.rtcpMux ? 0 : kind) === 0 ? other.pair.rtp : other.pair.rtcp;
            const fromIp = session.relay[OTHER[side]].ip;
            const otherSources = mode === 0 ? 'userspace' : 'drop';
            if (
              was !== undefined &&
              sameLeg(was, expectedPeer, otherSources, forwardTo, fromIp, fromPort)
            )
              continue;
            want = {
              localPort,
              expectedPeer: expectedPeer ?? null,
              otherSources,
              forwardTo,
              forwardFrom: { ip: fromIp, port: fromPort },
            };
          }
        }
        if (want === undefined && was === undefined) continue;
        leg.programmed[kind] = want;
        changed |= 1 << kind;
      }
      if (changed !== 0) {
        const seq = ++leg.opSeq;
        leg.ops = this.#kernelOps(leg, leg.ops, seq, changed, leg.programmed[0], leg.programmed[1]);
      }
    }
  }

  /**
   * After the leg's earlier operations: for each port in `changed`, its wanted leg opened
   * in the kernel, or the port closed. Never rejects: each operation catches its own failure.
   */
  async #kernelOps(
    leg: Leg,
    before: Promise<void> | undefined,
    seq: number,
    changed: number,
    rtp: RelayLeg | undefined,
    rtcp: RelayLeg | undefined,
  ): Promise<void> {
    if (before !== undefined) await before;
    for (const kind of KINDS) {
      if ((changed & (1 << kind)) === 0) continue;
      const localPort = kind === 0 ? leg.pair.rtp : leg.pair.rtcp;
      const want = kind === 0 ? rtp : rtcp;
      try {
        if (want === undefined) await this.#kernel.closeRelay(localPort);
        else await this.#kernel.openRelay(want);
      } catch (err: unknown) {
        this.#d.log.warn({ port: localPort, err }, 'media relay leg not programmed');
      }
    }
    if (leg.opSeq === seq) leg.ops = undefined;
  }

  #release(session: Session): void {
    session.ended = true;
    for (const stream of live(session)) this.#releaseStream(stream);
  }

  /** Ports closed, kernel legs removed, then the ports go back to the pool. */
  #releaseStream(stream: Stream): void {
    this.#releaseLeg(stream.legs.caller);
    this.#releaseLeg(stream.legs.callee);
  }

  #releaseLeg(leg: Leg): void {
    const now = this.#d.clock.now();
    for (const r of leg.sockets) {
      if (r === undefined) continue;
      r.session = r.stream = r.leg = undefined;
      if (this.#closed) {
        r.socket.close();
        continue;
      }
      r.releasedAt = now;
      this.#idle.push(r); // last: the list stays in release order
    }
    leg.sockets[0] = leg.sockets[1] = undefined;
    const programmed = leg.programmed;
    leg.programmed = [undefined, undefined];
    // An operation still pending must not clear leg.ops (it is `done` from here on).
    leg.opSeq++;
    const done = this.#unprogram(leg, leg.ops, programmed);
    leg.ops = done;
    this.#releasing.add(done);
  }

  /**
   * After the leg's pending kernel operations: its programmed ports removed from the kernel,
   * then the pair back in the pool. One async function rather than a then/catch/finally
   * chain (six promises per leg, four legs per call).
   */
  async #unprogram(
    leg: Leg,
    before: Promise<void> | undefined,
    programmed: readonly [RelayLeg | undefined, RelayLeg | undefined],
  ): Promise<void> {
    try {
      // Never rejects (see #kernelOps). Awaited even when undefined: what follows, the
      // finally included, must run after #releaseLeg has made this promise leg.ops.
      await before;
      if (programmed[0] !== undefined) await this.#kernel.closeRelay(leg.pair.rtp);
      if (programmed[1] !== undefined) await this.#kernel.closeRelay(leg.pair.rtcp);
    } catch (err: unknown) {
      this.#d.log.warn({ port: leg.pair.rtp, err }, 'media relay leg not removed');
    } finally {
      this.#ports.release(leg.pair.rtp);
      // This very promise: nothing programs a released leg again (its stream has left its
      // session, or its session has ended), so leg.ops is still what #releaseLeg set.
      if (leg.ops !== undefined) this.#releasing.delete(leg.ops);
    }
  }

  /** How often calls are checked for media: a quarter of mediatimeout, 0.25 s to 15 s. */
  #sweepMs(): number {
    const t = this.#d.config.mediatimeout * 1000;
    return Math.min(15_000, Math.max(250, Math.floor(t / 4) || 15_000));
  }

  #armSweep(): void {
    if (this.#closed) return;
    this.#sweep = this.#d.clock.setTimeout(() => {
      this.#closeIdle();
      void this.#checkMedia().finally(() => this.#armSweep());
    }, this.#sweepMs());
  }

  /**
   * mediatimeout is the proxy's (calls.ts keeps the timer): the relay tells it, once per
   * sweep, which calls had media since the last one. In XDP mode the sockets see nothing
   * after latching, so the kernel's counters of the call's ports say whether media flows. A
   * call on hold both ways (no address on any stream) sends nothing by design and counts as
   * active. A call the proxy no longer knows has its ports released (nothing can leak).
   */
  async #checkMedia(): Promise<void> {
    for (const s of [...this.#sessions.values()]) {
      if (this.#kernel !== NO_KERNEL) await this.#readKernel(s);
      if (s.ended) continue;
      const held = live(s).every((st) => !st.legs.caller.sdp[0] && !st.legs.callee.sdp[0]);
      if (!s.active && !held) continue;
      s.active = false;
      this.#activity(s);
    }
  }

  #activity(s: Session): void {
    const hook = this.onActivity;
    if (hook !== undefined && !hook(s.callId) && this.#sessions.get(s.callId) === s) {
      this.#d.log.info({ callId: s.callId }, 'media of a call no longer known released');
      this.end(s.callId);
    }
  }

  async #readKernel(s: Session): Promise<void> {
    let dropped = 0;
    for (const st of live(s))
      for (const leg of [st.legs.caller, st.legs.callee])
        for (const port of [leg.pair.rtp, leg.pair.rtcp]) {
          const c = await this.#kernel.relayCounters(port).catch(() => null);
          if (c === null) continue;
          dropped += c.droppedPackets;
          s.kernelSeen ??= new Map();
          if (c.forwardedPackets !== (s.kernelSeen.get(port) ?? 0)) {
            s.kernelSeen.set(port, c.forwardedPackets);
            s.active = true;
          }
        }
    s.kernelDropped = dropped;
  }
}
