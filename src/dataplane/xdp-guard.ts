// The XDP guard's maps from userspace: loads bpf/tollgate.bpf.o, writes its config and
// fills its maps (bans, CIDR rules, trusted sources, media peers, buckets). Layouts come
// from layout.ts (the mirror of bpf/tollgate.h); every libbpf call goes through libbpf.ts.
// The other jobs sit beside it: guard-config.ts (policy → struct tg_config), xdp-attach.ts
// (which interfaces run the program), xdp-counters.ts, xdp-events.ts (flood events) and
// xdp-dataplane.ts (the async Dataplane interface over it).
//
//   const guard = XdpGuard.load({ logger });
//   guard.configure({ signalingPorts: [5060], sourceRatePps: 50, sourceBurst: 100 });
//   guard.ban('192.0.2.7', 3600);
//   guard.onFlood((e) => bans.ban(e.ip, ...));
//   guard.attach('eth0');                  // native XDP, generic as a logged fallback
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.ts';
import { addrBytes, addrText, cidrBytes } from './addr-bytes.ts';
import { CidrHints, type CidrList } from './cidr-hints.ts';
import { DataplaneErrors as E } from './errors.ts';
import {
  DEFAULT_GUARD_CONFIG,
  guardConfigBytes,
  mergeGuardConfig,
  portOk,
} from './guard-config.ts';
import {
  type BucketState,
  type CounterName,
  decodeBucket,
  decodeExpiry,
  decodeMediaCounter,
  encodeBucket,
  encodeExpiry,
  encodeLpmKey,
  encodeMedia,
  MAP_NAMES,
  PROG_NAME,
  STRUCTS,
} from './layout.ts';
import {
  type BpfMap,
  BpfObject,
  type LibbpfLevel,
  progTestRun,
  routeLibbpfOutput,
  type TestRunOptions,
} from './libbpf.ts';
import { checkLocalPort, checkRelayLeg, zeroCounters } from './relay-leg.ts';
import type {
  AttachedMode,
  AttachMode,
  DropReason,
  FloodEvent,
  GuardConfig,
  RelayCounters,
  RelayLeg,
} from './types.ts';
import { XdpAttachments } from './xdp-attach.ts';
import { type Counter, dropBytesOf, dropsOf, passedOf, readCounters } from './xdp-counters.ts';
import { FloodEvents, monotonicNs } from './xdp-events.ts';
import type { XdpRecord } from './xdp-record.ts';

export { DEFAULT_GUARD_CONFIG } from './guard-config.ts';
export type { Counter } from './xdp-counters.ts';
export { monotonicNs } from './xdp-events.ts';

export const DEFAULT_OBJECT_PATH = fileURLToPath(
  new URL('../../bpf/tollgate.bpf.o', import.meta.url),
);

const XDP_DROP = 1;
const XDP_PASS = 2;
const XDP_TX = 3;
const XDP_REDIRECT = 4;
const NS_PER_SEC = 1_000_000_000n;

export interface XdpGuardOptions {
  objectPath?: string;
  /** Map capacities (entries), applied before load. */
  capacity?: Partial<Record<'bannedV4' | 'bannedV6' | 'cidr' | 'trusted' | 'buckets', number>>;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** How often the ring buffer is drained while someone listens for flood events. */
  eventPollMs?: number;
  /**
   * The data directory's record of attached programs (xdp-record.ts): the daemon passes it
   * so a restart takes over its crashed predecessor's program. Without it nothing is.
   */
  record?: XdpRecord;
}

export interface TestRunVerdict {
  verdict: 'pass' | 'drop' | 'tx' | 'redirect' | 'other';
  retval: number;
  durationNs: number;
  /** The frame after the program (with TestRunOptions.dataOut). */
  dataOut?: Uint8Array;
}

/**
 * libbpf's messages as log lines. Its WARN level is what it printed to stderr anyway (a
 * failed attach, a map it could not create) and stays a warning; INFO is progress (feature
 * probes, map reuse), which is debug for us; DEBUG is too chatty for anything but trace.
 */
function libbpfLine(logger: Pick<Logger, 'info' | 'warn'>, level: LibbpfLevel, line: string) {
  const fields = { lib: 'libbpf' };
  if (level === 'warn') logger.warn(fields, line);
  else (logger as Partial<Logger>)[level === 'info' ? 'debug' : 'trace']?.(fields, line);
}

function checkTtl(ttlSeconds: number): void {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0) throw new E.TG_DP_BAD_TTL(ttlSeconds);
}

export class XdpGuard {
  private readonly object: BpfObject;
  private readonly progFd: number;
  private readonly maps: { [K in keyof typeof MAP_NAMES]: BpfMap };
  private readonly events: FloodEvents;
  /** Where the program runs (per-interface attach, probes of what the kernel holds). */
  readonly attachments: XdpAttachments;
  private closed = false;
  private current: GuardConfig = { ...DEFAULT_GUARD_CONFIG };
  private readonly hints: CidrHints;
  /** IPv4 rules present, "allow|deny canonical-cidr": keeps the hint counts exact. */
  private readonly v4Rules = new Set<string>();
  /** Relay ports open (their counters are reset when a port is opened afresh). */
  private readonly relays = new Set<number>();

  private constructor(object: BpfObject, options: XdpGuardOptions) {
    this.object = object;
    this.progFd = object.programFd(PROG_NAME);
    this.maps = Object.fromEntries(
      Object.entries(MAP_NAMES).map(([k, name]) => [k, object.map(name)]),
    ) as { [K in keyof typeof MAP_NAMES]: BpfMap };
    this.events = new FloodEvents(this.maps.events.fd, options.eventPollMs ?? 100, options.logger);
    this.attachments = new XdpAttachments(this.progFd, options.logger, options.record);
    this.hints = new CidrHints(this.maps.cidrHint);
  }

  /** Opens and loads the object (needs CAP_BPF/root), then writes the default config. */
  static load(options: XdpGuardOptions = {}): XdpGuard {
    const c = options.capacity ?? {};
    const maxEntries: Record<string, number> = {};
    if (c.bannedV4) maxEntries[MAP_NAMES.bannedV4] = c.bannedV4;
    if (c.bannedV6) maxEntries[MAP_NAMES.bannedV6] = c.bannedV6;
    if (c.trusted) maxEntries[MAP_NAMES.trusted] = c.trusted;
    if (c.buckets) maxEntries[MAP_NAMES.buckets] = c.buckets;
    if (c.cidr) {
      for (const m of [MAP_NAMES.allowV4, MAP_NAMES.allowV6, MAP_NAMES.denyV4, MAP_NAMES.denyV6])
        maxEntries[m] = c.cidr;
    }
    const logger = options.logger;
    if (logger) routeLibbpfOutput((level, line) => libbpfLine(logger, level, line));
    const object = BpfObject.load(options.objectPath ?? DEFAULT_OBJECT_PATH, maxEntries);
    try {
      const guard = new XdpGuard(object, options);
      guard.configure({});
      return guard;
    } catch (err) {
      object.close();
      throw err;
    }
  }

  /** The program fd, for BPF_PROG_TEST_RUN and attaching. */
  get programFd(): number {
    return this.live().progFd;
  }

  get config(): Readonly<GuardConfig> {
    return this.current;
  }

  /** Merges `changes` into the current config, validates, and writes tg_config atomically. */
  configure(changes: Partial<GuardConfig>): void {
    const next = mergeGuardConfig(this.current, changes);
    this.live().maps.config.update(new Uint8Array(4), guardConfigBytes(next));
    this.current = next;
  }

  // ---- bans ----

  /** Drops every packet from ip for ttlSeconds (0 = until unbanned). */
  ban(ip: string, ttlSeconds: number): void {
    checkTtl(ttlSeconds);
    this.banUntil(ip, ttlSeconds === 0 ? 0n : monotonicNs() + BigInt(ttlSeconds) * NS_PER_SEC);
  }

  /** Writes a ban with an absolute monotonic expiry (0 = forever); tests use past values. */
  banUntil(ip: string, expiresNs: bigint): void {
    const a = addrBytes(ip);
    const map = a.family === 4 ? this.live().maps.bannedV4 : this.live().maps.bannedV6;
    map.update(a.bytes, encodeExpiry(expiresNs));
  }

  /** Returns whether a ban was there. */
  unban(ip: string): boolean {
    const a = addrBytes(ip);
    return (a.family === 4 ? this.live().maps.bannedV4 : this.live().maps.bannedV6).delete(a.bytes);
  }

  /** Lifts every ban; returns how many there were. */
  unbanAll(): number {
    let n = 0;
    for (const map of [this.live().maps.bannedV4, this.live().maps.bannedV6]) {
      for (const key of map.keys()) if (map.delete(key)) n++;
    }
    return n;
  }

  /** Current bans with their monotonic expiry (0n = forever); expired ones may still show. */
  bans(): { ip: string; expiresNs: bigint }[] {
    const out: { ip: string; expiresNs: bigint }[] = [];
    const value = new Uint8Array(STRUCTS.tg_ban.size);
    for (const map of [this.live().maps.bannedV4, this.live().maps.bannedV6]) {
      for (const key of map.keys()) {
        if (!map.lookup(key, value)) continue;
        const ip = key.length === 4 ? Array.from(key).join('.') : addrText(key);
        out.push({ ip, expiresNs: decodeExpiry(value) });
      }
    }
    return out;
  }

  /**
   * Loads many IPv4 bans in batches (BPF_MAP_UPDATE_BATCH): restoring a large ban list at
   * start. `addrs` holds 4-byte keys back to back.
   */
  banManyV4(addrs: Uint8Array, count: number, expiresNs = 0n, batch = 65536): void {
    const map = this.live().maps.bannedV4;
    const value = encodeExpiry(expiresNs);
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      const values = new Uint8Array(n * value.length);
      for (let i = 0; i < n; i++) values.set(value, i * value.length);
      map.updateBatch(addrs.subarray(start * 4, (start + n) * 4), values, n);
    }
  }

  // ---- CIDR rules ----

  allowCidr(cidr: string): void {
    this.setCidr(cidr, 'allow');
  }

  denyCidr(cidr: string): void {
    this.setCidr(cidr, 'deny');
  }

  /** Removes the prefix from both lists; returns whether it was in either. */
  removeCidr(cidr: string): boolean {
    const c = cidrBytes(cidr);
    const key = encodeLpmKey(c.family, c.prefix, c.bytes);
    let found = false;
    for (const list of ['allow', 'deny'] as const) {
      if (!this.trieFor(c.family, list).delete(key)) continue;
      found = true;
      if (c.family === 4 && this.v4Rules.delete(`${list} ${c.text}`))
        this.hints.remove(list, c.bytes, c.prefix);
    }
    return found;
  }

  private setCidr(cidr: string, list: CidrList): void {
    const c = cidrBytes(cidr);
    const map = this.trieFor(c.family, list);
    const rule = `${list} ${c.text}`;
    const newV4 = c.family === 4 && !this.v4Rules.has(rule);
    // Hint first: the rule must never be in the trie while the program would skip the trie.
    if (newV4) this.hints.add(list, c.bytes, c.prefix);
    try {
      map.update(encodeLpmKey(c.family, c.prefix, c.bytes), new Uint8Array([1]));
    } catch (err) {
      if (newV4) this.hints.remove(list, c.bytes, c.prefix);
      throw err;
    }
    if (newV4) this.v4Rules.add(rule);
  }

  private trieFor(family: 4 | 6, list: CidrList): BpfMap {
    const m = this.live().maps;
    if (family === 4) return list === 'allow' ? m.allowV4 : m.denyV4;
    return list === 'allow' ? m.allowV6 : m.denyV6;
  }

  // ---- trusted sources ----

  /** Exempts ip from the unknown-source budgets for ttlSeconds (0 = until untrusted). */
  trust(ip: string, ttlSeconds: number): void {
    checkTtl(ttlSeconds);
    this.trustUntil(ip, ttlSeconds === 0 ? 0n : monotonicNs() + BigInt(ttlSeconds) * NS_PER_SEC);
  }

  trustUntil(ip: string, expiresNs: bigint): void {
    this.live().maps.trusted.update(addrBytes(ip).mapped, encodeExpiry(expiresNs));
  }

  untrust(ip: string): boolean {
    return this.live().maps.trusted.delete(addrBytes(ip).mapped);
  }

  // ---- media: relay legs (types.ts RelayLeg) and the plain source filter ----

  /**
   * Programs one relay leg; again for the same port updates it in one map write (latching
   * keeps the counters). A port opened afresh starts its counters at zero.
   */
  openRelay(leg: RelayLeg): void {
    const range = this.current.mediaPorts;
    if (range === null)
      throw new E.TG_DP_BAD_RELAY(
        (leg as Partial<RelayLeg> | null)?.localPort,
        'no media port range (mediaportmin..mediaportmax) is configured',
      );
    const c = checkRelayLeg(leg, range);
    const maps = this.live().maps;
    if (!this.relays.has(c.localPort))
      maps.mediaStats.update(mediaKey(c.localPort), new Uint8Array(STRUCTS.tg_media_counter.size));
    const entry = encodeMedia({
      peer: c.peer === null ? null : { mapped: c.peer.addr.mapped, port: c.peer.port },
      strict: c.strict,
      forward: {
        v6: c.to.addr.family === 6,
        src: c.from.addr.mapped,
        sport: c.from.port,
        dst: c.to.addr.mapped,
        dport: c.to.port,
      },
    });
    maps.media.update(mediaKey(c.localPort), entry);
    this.relays.add(c.localPort);
  }

  /** Unprograms the leg: the port drops everything from now on. Returns its final counters. */
  closeRelay(localPort: number): RelayCounters | null {
    checkLocalPort(localPort, null);
    const final = this.relayCounters(localPort);
    this.closeMedia(localPort);
    this.relays.delete(localPort);
    return final;
  }

  /** The leg's counters, summed by the kernel (atomic adds); null when the port is not open. */
  relayCounters(localPort: number): RelayCounters | null {
    checkLocalPort(localPort, null);
    if (!this.relays.has(localPort)) return null;
    const value = new Uint8Array(STRUCTS.tg_media_counter.size);
    if (!this.live().maps.mediaStats.lookup(mediaKey(localPort), value)) return zeroCounters();
    const c = decodeMediaCounter(value);
    return {
      forwardedPackets: Number(c.fwdPackets),
      forwardedBytes: Number(c.fwdBytes),
      droppedPackets: Number(c.dropped),
      userspacePackets: Number(c.userspace),
    };
  }

  /** The source filter alone (no forwarding): UDP to `port` only from peer ip:port. */
  openMedia(port: number, peer: { ip: string; port: number }): void {
    if (!portOk(port)) throw new E.TG_DP_BAD_PORT('media port', port, '1..65535');
    if (!portOk(peer.port)) throw new E.TG_DP_BAD_PORT('peer port', peer.port, '1..65535');
    this.live().maps.media.update(
      mediaKey(port),
      encodeMedia({
        peer: { mapped: addrBytes(peer.ip).mapped, port: peer.port },
        strict: true,
        forward: null,
      }),
    );
  }

  closeMedia(port: number): void {
    if (!portOk(port)) throw new E.TG_DP_BAD_PORT('media port', port, '1..65535');
    // An ARRAY slot cannot be deleted: all zero means "not allocated".
    this.live().maps.media.update(mediaKey(port), new Uint8Array(STRUCTS.tg_media.size));
  }

  // ---- per-source buckets (inspection, and tests that refill without sleeping) ----

  bucket(ip: string): BucketState | null {
    const value = new Uint8Array(STRUCTS.tg_bucket.size);
    return this.live().maps.buckets.lookup(addrBytes(ip).mapped, value)
      ? decodeBucket(value)
      : null;
  }

  setBucket(ip: string, state: BucketState): void {
    this.live().maps.buckets.update(addrBytes(ip).mapped, encodeBucket(state));
  }

  // ---- counters ----

  /** Every counter slot, summed over CPUs. */
  counters(): Record<CounterName, Counter> {
    return readCounters(this.live().maps.stats);
  }

  /** Packets dropped, by the DropReason names of the Dataplane interface. */
  drops(): Record<DropReason, number> {
    return dropsOf(this.counters());
  }

  dropBytes(): Record<DropReason, number> {
    return dropBytesOf(this.counters());
  }

  passed(): number {
    return passedOf(this.counters());
  }

  // ---- flood events ----

  /** Subscribes to flood events (xdp-events.ts polls the ring buffer while anyone listens). */
  onFlood(listener: (event: FloodEvent) => void): () => void {
    this.live();
    return this.events.subscribe(listener);
  }

  /** Drains the ring buffer now, delivering events to listeners; returns how many. */
  pollEvents(): number {
    return this.closed ? 0 : this.events.poll();
  }

  // ---- running the program ----

  /** BPF_PROG_TEST_RUN on one frame (Ethernet first). */
  testRun(frame: Uint8Array, repeat = 1, options: TestRunOptions = {}): TestRunVerdict {
    const r = progTestRun(this.programFd, frame, repeat, options);
    const verdict =
      r.retval === XDP_PASS
        ? 'pass'
        : r.retval === XDP_DROP
          ? 'drop'
          : r.retval === XDP_TX
            ? 'tx'
            : r.retval === XDP_REDIRECT
              ? 'redirect'
              : 'other';
    const out: TestRunVerdict = { verdict, retval: r.retval, durationNs: r.durationNs };
    if (r.dataOut !== undefined) out.dataOut = r.dataOut;
    return out;
  }

  // ---- interfaces (xdp-attach.ts) ----

  attach(ifname: string, mode: AttachMode = 'auto'): AttachedMode {
    return this.live().attachments.attach(ifname, mode);
  }

  detach(ifname: string): void {
    this.live().attachments.detach(ifname);
  }

  interfaces(): { ifname: string; mode: AttachedMode }[] {
    return this.attachments.interfaces();
  }

  /** Detaches from every interface, stops event polling, releases the object. */
  close(): void {
    if (this.closed) return;
    let error: unknown;
    try {
      this.attachments.detachAll();
    } catch (err) {
      error = err;
    }
    this.events.close();
    this.closed = true;
    this.object.close();
    if (error !== undefined) throw error;
  }

  private live(): this {
    if (this.closed) throw new E.TG_DP_CLOSED();
    return this;
  }
}

function mediaKey(port: number): Uint8Array {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, port, true);
  return key;
}
