// The XDP guard from userspace: loads bpf/tollgate.bpf.o, writes its config, fills its
// maps (bans, CIDR rules, trusted sources, media peers), reads its counters and flood
// events, and attaches it to interfaces. Layouts come from layout.ts (the mirror of
// bpf/tollgate.h); every libbpf call goes through libbpf.ts.
//
//   const guard = XdpGuard.load({ logger });
//   guard.configure({ signalingPorts: [5060], sourceRatePps: 50, sourceBurst: 100 });
//   guard.ban('192.0.2.7', 3600);
//   guard.onFlood((e) => bans.ban(e.ip, ...));
//   guard.attach('eth0');                  // native XDP, generic as a logged fallback
//
// XdpDataplane (below) adapts it to the async Dataplane interface of types.ts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.ts';
import { addrBytes, addrText, cidrBytes } from './addr-bytes.ts';
import { CidrHints, type CidrList } from './cidr-hints.ts';
import { DataplaneErrors as E } from './errors.ts';
import {
  type BucketState,
  COUNTER_SLOTS,
  type CounterName,
  DROP_COUNTERS,
  decodeBucket,
  decodeEvent,
  decodeExpiry,
  encodeBucket,
  encodeConfig,
  encodeExpiry,
  encodeLpmKey,
  encodeMedia,
  MAP_NAMES,
  MAX_SIG_PORTS,
  PASS_COUNTERS,
  PROG_NAME,
  STRUCTS,
  sumCounters,
  TG_EVENT_TYPE,
} from './layout.ts';
import {
  type BpfMap,
  BpfObject,
  closeFd,
  errorText,
  type LibbpfLevel,
  progById,
  progTestRun,
  RingBuffer,
  routeLibbpfOutput,
  XDP_FLAGS,
  xdpAttach,
  xdpDetach,
  xdpQueryId,
} from './libbpf.ts';
import type { Dataplane, DataplaneStats, DropReason, FloodEvent } from './types.ts';

export const DEFAULT_OBJECT_PATH = fileURLToPath(
  new URL('../../bpf/tollgate.bpf.o', import.meta.url),
);

const XDP_DROP = 1;
const XDP_PASS = 2;
const NS_PER_SEC = 1_000_000_000n;

/** Policy knobs in operator units; converted to struct tg_config by configure(). */
export interface GuardConfig {
  /** UDP/TCP ports that get the per-source budget (SIP, SIPS, WebSocket). At most 8. */
  signalingPorts: number[];
  /** Local RTP/RTCP port range, inclusive; null = no media checks. */
  mediaPorts: { min: number; max: number } | null;
  /** checkrtpaddr: only the registered peer may send to an allocated media port. */
  checkRtpAddr: boolean;
  /** Drop non-first fragments (they carry no ports). Off: they pass after the address checks. */
  dropFragments: boolean;
  /** Per-source signaling budget in packets/s; 0 = no per-source budget. */
  sourceRatePps: number;
  /** Per-source bucket depth in packets. */
  sourceBurst: number;
  /** maxnetworkspeed in kbit/s: the shared budget of unknown sources; 0 = none. */
  maxNetworkSpeedKbps: number;
  /** At most one flood event per source per this many ms. */
  floodEventIntervalMs: number;
}

export const DEFAULT_GUARD_CONFIG: Readonly<GuardConfig> = Object.freeze({
  signalingPorts: [5060, 5061],
  mediaPorts: null,
  checkRtpAddr: false,
  dropFragments: false,
  sourceRatePps: 0,
  sourceBurst: 0,
  maxNetworkSpeedKbps: 0,
  floodEventIntervalMs: 1000,
});

export type AttachMode = 'auto' | 'native' | 'generic';
export type AttachedMode = 'xdp' | 'xdp-generic';

export interface XdpGuardOptions {
  objectPath?: string;
  /** Map capacities (entries), applied before load. */
  capacity?: Partial<Record<'bannedV4' | 'bannedV6' | 'cidr' | 'trusted' | 'buckets', number>>;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** How often the ring buffer is drained while someone listens for flood events. */
  eventPollMs?: number;
}

export interface Counter {
  packets: bigint;
  bytes: bigint;
}

export interface TestRunVerdict {
  verdict: 'pass' | 'drop' | 'other';
  retval: number;
  durationNs: number;
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

function portOk(p: unknown): p is number {
  return Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535;
}

function checkTtl(ttlSeconds: number): void {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0) throw new E.TG_DP_BAD_TTL(ttlSeconds);
}

/** CLOCK_MONOTONIC ns, the clock of bpf_ktime_get_ns (libuv's hrtime on Linux). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

function ifindexOf(ifname: string): number {
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(ifname)) throw new E.TG_DP_NO_INTERFACE(ifname);
  try {
    return Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8').trim());
  } catch {
    throw new E.TG_DP_NO_INTERFACE(ifname);
  }
}

export class XdpGuard {
  private readonly object: BpfObject;
  private readonly progFd: number;
  private readonly maps: { [K in keyof typeof MAP_NAMES]: BpfMap };
  private readonly logger: Pick<Logger, 'info' | 'warn'> | undefined;
  private readonly eventPollMs: number;
  private readonly attached = new Map<string, { ifindex: number; mode: AttachedMode }>();
  private readonly floodListeners = new Set<(event: FloodEvent) => void>();
  private ring: RingBuffer | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private current: GuardConfig = { ...DEFAULT_GUARD_CONFIG };
  private readonly hints: CidrHints;
  /** IPv4 rules present, "allow|deny canonical-cidr": keeps the hint counts exact. */
  private readonly v4Rules = new Set<string>();

  private constructor(object: BpfObject, options: XdpGuardOptions) {
    this.object = object;
    this.progFd = object.programFd(PROG_NAME);
    this.maps = Object.fromEntries(
      Object.entries(MAP_NAMES).map(([k, name]) => [k, object.map(name)]),
    ) as { [K in keyof typeof MAP_NAMES]: BpfMap };
    this.logger = options.logger;
    this.eventPollMs = options.eventPollMs ?? 100;
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
    const next: GuardConfig = { ...this.current, ...changes };
    if (next.signalingPorts.length > MAX_SIG_PORTS || !next.signalingPorts.every(portOk))
      throw new E.TG_DP_BAD_PORT(
        'signaling ports',
        JSON.stringify(next.signalingPorts),
        `1..65535, at most ${MAX_SIG_PORTS}`,
      );
    if (next.mediaPorts !== null) {
      const { min, max } = next.mediaPorts;
      if (!portOk(min) || !portOk(max) || min > max)
        throw new E.TG_DP_BAD_PORT('media range', `${min}-${max}`, '1..65535 with min <= max');
    }
    const nonNegative = [
      'sourceRatePps',
      'sourceBurst',
      'maxNetworkSpeedKbps',
      'floodEventIntervalMs',
    ] as const;
    for (const key of nonNegative) {
      const v = next[key];
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
        throw new E.TG_DP_BAD_CONFIG(key, `${v} is not an integer in 0..4294967295`);
    }
    if (next.sourceRatePps > 1_000_000_000)
      throw new E.TG_DP_BAD_CONFIG('sourceRatePps', 'at most 1e9 packets/s');
    const bytesPerSec = (BigInt(next.maxNetworkSpeedKbps) * 1000n) / 8n;
    this.live().maps.config.update(
      new Uint8Array(4),
      encodeConfig({
        signalingPorts: next.signalingPorts,
        mediaPortMin: next.mediaPorts?.min ?? 0,
        mediaPortMax: next.mediaPorts?.max ?? 0,
        dropFragments: next.dropFragments,
        checkRtp: next.checkRtpAddr,
        sourceRatePps: next.sourceRatePps,
        sourceBurst: next.sourceBurst,
        globalRateBytesPerSec: bytesPerSec,
        // A tenth of a second of line rate: absorbs bursts without hiding a sustained flood.
        globalBurstBytes: bytesPerSec / 10n,
        eventIntervalNs: BigInt(next.floodEventIntervalMs) * 1_000_000n,
      }),
    );
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

  // ---- media (checkrtpaddr) ----

  /** Lets UDP to local `port` through only from peer ip:port (RTCP is a port of its own). */
  openMedia(port: number, peer: { ip: string; port: number }): void {
    if (!portOk(port)) throw new E.TG_DP_BAD_PORT('media port', port, '1..65535');
    if (!portOk(peer.port)) throw new E.TG_DP_BAD_PORT('peer port', peer.port, '1..65535');
    this.live().maps.media.update(
      mediaKey(port),
      encodeMedia(addrBytes(peer.ip).mapped, peer.port),
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
    const map = this.live().maps.stats;
    const value = new Uint8Array(map.valueSize);
    const out = {} as Record<CounterName, Counter>;
    for (const [name, slot] of Object.entries(COUNTER_SLOTS) as [CounterName, number][]) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, slot, true);
      out[name] = map.lookup(key, value)
        ? sumCounters(value, map.perCpuStride)
        : { packets: 0n, bytes: 0n };
    }
    return out;
  }

  /** Packets dropped, by the DropReason names of the Dataplane interface. */
  drops(): Record<DropReason, number> {
    const c = this.counters();
    const out = {} as Record<DropReason, number>;
    for (const [reason, names] of Object.entries(DROP_COUNTERS) as [
      DropReason,
      readonly CounterName[],
    ][]) {
      out[reason] = names.reduce((sum, n) => sum + Number(c[n].packets), 0);
    }
    return out;
  }

  passed(): number {
    const c = this.counters();
    return PASS_COUNTERS.reduce((sum, n) => sum + Number(c[n].packets), 0);
  }

  // ---- flood events ----

  /**
   * Subscribes to flood events. While anyone listens, a timer on the main thread drains the
   * ring buffer every eventPollMs (unref'd: it never keeps the process alive).
   */
  onFlood(listener: (event: FloodEvent) => void): () => void {
    this.live();
    this.floodListeners.add(listener);
    if (this.pollTimer === null) {
      this.pollTimer = setInterval(() => this.pollEvents(), this.eventPollMs);
      this.pollTimer.unref();
    }
    return () => {
      this.floodListeners.delete(listener);
      if (this.floodListeners.size === 0) this.stopPolling();
    };
  }

  /** Drains the ring buffer now, delivering events to listeners; returns how many. */
  pollEvents(): number {
    if (this.closed) return 0;
    this.ring ??= new RingBuffer(this.maps.events.fd, (data) => this.deliver(data));
    return this.ring.consume();
  }

  private deliver(data: Uint8Array): void {
    const raw = decodeEvent(data);
    if (raw === null || raw.type !== TG_EVENT_TYPE.TG_EV_FLOOD) return;
    const ageMs = Number(monotonicNs() - raw.tsNs) / 1e6;
    const event: FloodEvent = {
      ip: addrText(raw.addr),
      packets: raw.dropped,
      at: Math.round(Date.now() - Math.max(0, ageMs)),
    };
    for (const listener of this.floodListeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger?.warn({ err }, 'flood event listener failed');
      }
    }
  }

  private stopPolling(): void {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  // ---- running the program ----

  /** BPF_PROG_TEST_RUN on one frame (Ethernet first). */
  testRun(frame: Uint8Array, repeat = 1): TestRunVerdict {
    const r = progTestRun(this.programFd, frame, repeat);
    const verdict = r.retval === XDP_PASS ? 'pass' : r.retval === XDP_DROP ? 'drop' : 'other';
    return { verdict, retval: r.retval, durationNs: r.durationNs };
  }

  // ---- interfaces ----

  /**
   * Attaches to ifname. 'auto' tries native (driver) XDP and falls back to generic (skb)
   * with a logged reason. A tollgate program already there (a crash left it) is replaced;
   * any other XDP program is left alone and the attach fails.
   */
  attach(ifname: string, mode: AttachMode = 'auto'): AttachedMode {
    const fd = this.programFd;
    const ifindex = ifindexOf(ifname);
    const stale = this.staleTollgatePrograms(ifname, ifindex);
    try {
      const tries: [number, AttachedMode][] =
        mode === 'generic'
          ? [[XDP_FLAGS.SKB_MODE, 'xdp-generic']]
          : mode === 'native'
            ? [[XDP_FLAGS.DRV_MODE, 'xdp']]
            : [
                [XDP_FLAGS.DRV_MODE, 'xdp'],
                [XDP_FLAGS.SKB_MODE, 'xdp-generic'],
              ];
      let lastError = '';
      for (const [flags, name] of tries) {
        const other = flags === XDP_FLAGS.DRV_MODE ? XDP_FLAGS.SKB_MODE : XDP_FLAGS.DRV_MODE;
        // Native and generic cannot be active together: clear a stale one in the other mode.
        if (stale.has(other)) {
          xdpDetach(ifindex, other);
          stale.delete(other);
        }
        const old = stale.get(flags);
        const rc =
          old === undefined
            ? xdpAttach(ifindex, fd, flags | XDP_FLAGS.UPDATE_IF_NOEXIST)
            : xdpAttach(ifindex, fd, flags, old.fd);
        if (rc === 0) {
          if (old !== undefined) {
            this.logger?.warn(
              { ifname, staleId: old.id, mode: name },
              'replaced a stale tollgate XDP program',
            );
            stale.delete(flags);
          }
          this.attached.set(ifname, { ifindex, mode: name });
          this.logger?.info({ ifname, mode: name }, 'XDP guard attached');
          return name;
        }
        lastError = `${name}: ${errorText(rc)}`;
        if (tries.length > 1 && name === 'xdp')
          this.logger?.warn(
            { ifname, reason: errorText(rc) },
            'native XDP refused; falling back to generic XDP',
          );
      }
      throw new E.TG_DP_ATTACH(ifname, lastError);
    } finally {
      for (const s of stale.values()) closeFd(s.fd);
    }
  }

  /** Detaches from ifname if this guard attached there. */
  detach(ifname: string): void {
    const a = this.attached.get(ifname);
    if (!a) return;
    const flags = a.mode === 'xdp' ? XDP_FLAGS.DRV_MODE : XDP_FLAGS.SKB_MODE;
    // Only remove our own program: if someone replaced it meanwhile, leave theirs.
    const id = xdpQueryId(a.ifindex, flags);
    const prog = id === 0 ? null : progById(id);
    try {
      if (prog && prog.name === PROG_NAME) {
        const rc = xdpDetach(a.ifindex, flags);
        if (rc < 0) throw new E.TG_DP_DETACH(ifname, errorText(rc));
      }
    } finally {
      if (prog) closeFd(prog.fd);
      this.attached.delete(ifname);
    }
  }

  interfaces(): { ifname: string; mode: AttachedMode }[] {
    return [...this.attached].map(([ifname, a]) => ({ ifname, mode: a.mode }));
  }

  /** Tollgate programs attached to ifindex by mode flag; throws if a foreign one is there. */
  private staleTollgatePrograms(
    ifname: string,
    ifindex: number,
  ): Map<number, { id: number; fd: number }> {
    const found = new Map<number, { id: number; fd: number }>();
    try {
      for (const flags of [XDP_FLAGS.DRV_MODE, XDP_FLAGS.SKB_MODE]) {
        const id = xdpQueryId(ifindex, flags);
        if (id === 0) continue;
        const prog = progById(id);
        if (prog === null) continue; // went away meanwhile
        if (prog.name !== PROG_NAME) {
          closeFd(prog.fd);
          throw new E.TG_DP_FOREIGN_PROGRAM(ifname, prog.name, id);
        }
        found.set(flags, { id, fd: prog.fd });
      }
    } catch (err) {
      for (const s of found.values()) closeFd(s.fd);
      throw err;
    }
    return found;
  }

  /** Detaches from every interface, stops event polling, releases the object. */
  close(): void {
    if (this.closed) return;
    const errors: unknown[] = [];
    for (const ifname of [...this.attached.keys()]) {
      try {
        this.detach(ifname);
      } catch (err) {
        errors.push(err);
      }
    }
    this.stopPolling();
    this.ring?.free();
    this.ring = null;
    this.closed = true;
    this.object.close();
    if (errors.length > 0) throw errors[0];
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

/** The Dataplane interface over an XdpGuard (mode `xdp` or `xdp-generic`). */
export class XdpDataplane implements Dataplane {
  readonly guard: XdpGuard;

  constructor(guard: XdpGuard) {
    this.guard = guard;
  }

  /** `xdp-generic` if any interface fell back to generic mode. */
  get mode(): 'xdp' | 'xdp-generic' {
    return this.guard.interfaces().some((i) => i.mode === 'xdp-generic') ? 'xdp-generic' : 'xdp';
  }

  async ban(ip: string, ttlSeconds: number): Promise<void> {
    this.guard.ban(ip, ttlSeconds);
  }
  async unban(ipOrAll: string): Promise<void> {
    if (ipOrAll === 'all') this.guard.unbanAll();
    else this.guard.unban(ipOrAll);
  }
  async allowCidr(cidr: string): Promise<void> {
    this.guard.allowCidr(cidr);
  }
  async denyCidr(cidr: string): Promise<void> {
    this.guard.denyCidr(cidr);
  }
  async removeCidr(cidr: string): Promise<void> {
    this.guard.removeCidr(cidr);
  }
  async trust(ip: string, ttlSeconds: number): Promise<void> {
    this.guard.trust(ip, ttlSeconds);
  }
  async untrust(ip: string): Promise<void> {
    this.guard.untrust(ip);
  }
  async openMedia(port: number, peer: { ip: string; port: number }): Promise<void> {
    this.guard.openMedia(port, peer);
  }
  async closeMedia(port: number): Promise<void> {
    this.guard.closeMedia(port);
  }
  async stats(): Promise<DataplaneStats> {
    return {
      mode: this.mode,
      interfaces: this.guard.interfaces().map((i) => i.ifname),
      drops: this.guard.drops(),
      passed: this.guard.passed(),
    };
  }
  onFlood(listener: (event: FloodEvent) => void): () => void {
    return this.guard.onFlood(listener);
  }
  async close(): Promise<void> {
    this.guard.close();
  }
}
