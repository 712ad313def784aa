// The nftables dataplane: mode `nft` on its own (when XDP cannot attach) and the second
// layer behind XDP. It owns the `inet tollgate` table (and `netdev tollgate` when ingress
// hooks on interfaces are configured) and never reads or writes any other table.
//
// Every change is one `nft -j -f FILE` batch (nft-runner.ts says why not stdin), so the
// kernel applies it atomically, and calls are serialised so two changes never interleave.
// Inputs are validated (nft-address.ts) before anything is built; the JSON document is the
// only thing nft parses.
//
// init() starts from an empty ruleset; the caller restores what LMDB holds with banMany()
// and replaceCidrs(), which batch instead of running nft once per entry. Kernels since 6.x
// accept a netdev hook on an interface that does not exist (yet): it attaches when the
// device appears, so a misspelt interface name is not an error here.
//
//   const dp = new NftDataplane();
//   await dp.init({ sipTcpPorts: [5060, 5061], maxConnPerSource: 32 });
//   await dp.ban('203.0.113.7', 3600, 'sip flood');   // drops from now on, gone in an hour
//   (await dp.stats()).drops.banned                   // packets dropped because of bans

import {
  type IpFamily,
  ipText,
  mergeRanges,
  type ParsedCidr,
  parseCidr,
  parseIp,
} from './nft-address.ts';
import {
  BULK_CHUNK,
  banElement,
  checkInteger,
  checkInterface,
  checkPort,
  checkReason,
  checkTtl,
  chunks,
  type NftBan,
  parseBanElement,
  removeElementCommands,
  replaceElementCommands,
} from './nft-elements.ts';
import { NftErrors } from './nft-errors.ts';
import {
  type AddressFamily,
  addElements,
  addIngressChain,
  COUNTERS,
  deleteElements,
  deleteIngressChain,
  deleteTableCommands,
  flushSet,
  guardFamily,
  ingressChainName,
  initCommands,
  RELAY_SETS,
  type SetElement,
  type SetKind,
  type SetRef,
  setName,
  TABLE_NAME,
  type TableFamily,
} from './nft-ruleset.ts';
import { type NftCommand, NftRunner, type NftRunnerOptions } from './nft-runner.ts';
import { type CheckedLeg, checkLocalPort, checkRelayLeg, zeroCounters } from './relay-leg.ts';
import type {
  Dataplane,
  DataplaneState,
  DataplaneStats,
  DropReason,
  FloodEvent,
  GuardConfig,
  RelayCounters,
  RelayLeg,
} from './types.ts';

export interface NftInitOptions {
  /** Interfaces to guard at netdev ingress; omitted or empty = every interface (inet prerouting). */
  interfaces?: readonly string[];
  /** TCP signaling ports under the per-source connection cap (SIP 5060, SIPS 5061). */
  sipTcpPorts?: readonly number[];
  /** Concurrent TCP connections one source may hold to the signaling ports. */
  maxConnPerSource: number;
  /** Sources tracked at once per address family by the connection cap. */
  connTrackedSources?: number;
  /**
   * Where bans and CIDR rules are enforced: 'netdev' (ingress chains on the interfaces,
   * added and removed later with setInterfaces) or 'inet' (prerouting, every interface).
   * Default: netdev when interfaces are given.
   */
  guard?: TableFamily;
}

/** What the kernel holds of our ruleset, and whether it is what init() and setInterfaces() built. */
export interface NftCheck {
  intact: boolean;
  /** What is missing or changed, for the log; '' when intact. */
  problem: string;
  /** "inet tollgate", "netdev tollgate": the tables present now. */
  tables: string[];
  /** Interfaces whose ingress chain is present now (netdev guard). */
  chains: string[];
}

export type { NftBan } from './nft-elements.ts';

export interface NftStats extends DataplaneStats {
  /** False when the tables were not there to read (then every figure is 0). */
  tablesPresent: boolean;
  /** The raw counters; `drops.flood` is `connLimit` (TCP connections refused over the cap). */
  nft: { allowed: number; banned: number; cidrDeny: number; connLimit: number; passed: number };
}

export const DEFAULT_SIP_TCP_PORTS: readonly number[] = [5060, 5061];
export { MAX_TTL_SECONDS } from './nft-elements.ts';

const MAX_INTERFACES = 256;

/** What nftables can count: bans, CIDR denies and the TCP connection cap (as `flood`). */
const NFT_COUNTED: readonly DropReason[] = [
  'banned',
  'cidr_deny',
  'flood',
  'rtp_source',
  'rtp_unallocated',
];

/** Which RelayCounters field a relay set's element counter feeds. */
const RELAY_COUNTED = [
  { set: RELAY_SETS.peerV4, field: 'forwarded' },
  { set: RELAY_SETS.peerV6, field: 'forwarded' },
  { set: RELAY_SETS.open, field: 'userspace' },
  { set: RELAY_SETS.strict, field: 'dropped' },
] as const;

interface RelayElement {
  set: string;
  elem: number | { concat: (string | number)[] };
}

/** The elements that say what one leg accepts (see nft-ruleset.ts, the relay's filter). */
function relayElements(c: CheckedLeg): RelayElement[] {
  if (c.peer === null || !c.strict) return [{ set: RELAY_SETS.open, elem: c.localPort }];
  return [
    { set: RELAY_SETS.strict, elem: c.localPort },
    {
      set: c.peer.addr.family === 4 ? RELAY_SETS.peerV4 : RELAY_SETS.peerV6,
      elem: { concat: [c.localPort, c.peer.addr.text, c.peer.port] },
    },
  ];
}

const sameElement = (a: RelayElement, b: RelayElement) =>
  a.set === b.set && JSON.stringify(a.elem) === JSON.stringify(b.elem);

function addCounters(a: RelayCounters, b: RelayCounters): RelayCounters {
  return {
    forwardedPackets: a.forwardedPackets + b.forwardedPackets,
    forwardedBytes: a.forwardedBytes + b.forwardedBytes,
    droppedPackets: a.droppedPackets + b.droppedPackets,
    userspacePackets: a.userspacePackets + b.userspacePackets,
  };
}

const FAMILY_KEY = (family: IpFamily): AddressFamily => (family === 4 ? 'v4' : 'v6');

/**
 * The deadline of the ruleset's build (tables, chains, sets: ~0.1 s here). It is the
 * largest batch and it runs at start, when nothing else protects the host yet; on an
 * emulated or starved CPU it took over 30 s, the deadline of an update (test:image, qemu
 * TCG beside other work), and the daemon then failed its start and restarted. A hung nft
 * still ends the start, after this.
 */
export const INIT_TIMEOUT_MS = 300_000;

export class NftDataplane implements Dataplane {
  readonly mode = 'nft' as const;
  /** nftables filters media sources; the userspace relay forwards. */
  readonly kernelForwarding = false;
  readonly #runner: NftRunner;
  /** Relay legs programmed, by local port. */
  readonly #relays = new Map<number, CheckedLeg>();
  /** Counts of relay elements replaced by an update (latching), by local port. */
  readonly #carried = new Map<number, RelayCounters>();
  #gate: { min: number; max: number } | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #initialized = false;
  #interfaces: readonly string[] = [];
  #guard: TableFamily = 'inet';
  /** Table handles as created: a table deleted and created again by someone else differs. */
  #handles = new Map<TableFamily, number>();
  readonly #allow = new Map<string, ParsedCidr>();
  readonly #deny = new Map<string, ParsedCidr>();

  constructor(options: NftRunnerOptions = {}) {
    this.#runner = new NftRunner(options);
  }

  /** Installs the ruleset, replacing any tollgate tables a crashed run left behind. */
  async init(options: NftInitOptions): Promise<void> {
    const interfaces = [...(options.interfaces ?? [])].map(checkInterface);
    if (interfaces.length > MAX_INTERFACES) {
      throw new NftErrors.TG_NFT_BAD_INTERFACE(
        interfaces.length,
        `at most ${MAX_INTERFACES} interfaces`,
      );
    }
    const sipTcpPorts = [...new Set((options.sipTcpPorts ?? DEFAULT_SIP_TCP_PORTS).map(checkPort))];
    const maxConnPerSource = checkInteger(
      'maxConnPerSource',
      options.maxConnPerSource,
      1,
      1_000_000,
    );
    const connTrackedSources = checkInteger(
      'connTrackedSources',
      options.connTrackedSources ?? 65_536,
      1,
      16_777_216,
    );
    const guard = options.guard ?? guardFamily(interfaces);
    return this.#serial(
      async () => {
        await this.#runner.apply(
          initCommands({
            interfaces,
            sipTcpPorts,
            maxConnPerSource,
            connTrackedSources,
            guard,
          }) as NftCommand[],
          INIT_TIMEOUT_MS,
        );
        this.#interfaces = interfaces;
        this.#guard = guard;
        // The relay's legs and gate survive a rebuild (their counts start again).
        const replay = this.#relayReplay();
        if (replay.length > 0) await this.#runner.apply(replay as NftCommand[], INIT_TIMEOUT_MS);
        this.#carried.clear();
        this.#handles = new Map(
          (await this.#tables(INIT_TIMEOUT_MS)).map((t) => [t.family, t.handle]),
        );
        this.#allow.clear();
        this.#deny.clear();
        this.#initialized = true;
      },
      { requireInit: false },
    );
  }

  async ban(ip: string, ttlSeconds: number, reason: string): Promise<void> {
    return this.banMany([{ ip, ttlSeconds, reason }]);
  }

  /** Many bans in few batches (restoring LMDB at start); validated in full before any is applied. */
  async banMany(
    bans: readonly { ip: string; ttlSeconds: number; reason: string }[],
  ): Promise<void> {
    const parsed = bans.map((b) => ({
      ip: parseIp(b.ip),
      ttl: checkTtl(b.ttlSeconds),
      reason: checkReason(b.reason),
    }));
    return this.#serial(async () => {
      for (const chunk of chunks(parsed, BULK_CHUNK)) {
        const commands: object[] = [];
        for (const family of ['v4', 'v6'] as const) {
          const mine = chunk.filter((b) => FAMILY_KEY(b.ip.family) === family);
          if (mine.length === 0) continue;
          commands.push(
            ...replaceElementCommands(
              this.#set('banned', family),
              mine.map((b) => b.ip.text),
              mine.map((b) => banElement(b.ip, b.ttl, b.reason)),
            ),
          );
        }
        await this.#runner.apply(commands as NftCommand[]);
      }
    });
  }

  async unban(ipOrAll: string): Promise<void> {
    if (ipOrAll === 'all') {
      return this.#serial(() =>
        this.#runner.apply([
          flushSet(this.#set('banned', 'v4')),
          flushSet(this.#set('banned', 'v6')),
        ] as NftCommand[]),
      );
    }
    const ip = parseIp(ipOrAll);
    return this.#serial(() =>
      this.#runner.apply(
        removeElementCommands(this.#set('banned', FAMILY_KEY(ip.family)), [
          ip.text,
        ]) as NftCommand[],
      ),
    );
  }

  /** Bans as the kernel holds them, with the time each has left. */
  async listBans(): Promise<NftBan[]> {
    return this.#serial(async () => {
      const bans: NftBan[] = [];
      for (const family of ['v4', 'v6'] as const) {
        const set = this.#set('banned', family);
        const listed = await this.#runner.list(['set', set.family, TABLE_NAME, set.name]);
        for (const item of listed) {
          const elements = (item as { set?: { elem?: unknown[] } }).set?.elem ?? [];
          for (const raw of elements) {
            const ban = parseBanElement(raw);
            if (ban === undefined)
              throw new NftErrors.TG_NFT_BAD_OUTPUT(JSON.stringify(raw).slice(0, 200));
            bans.push(ban);
          }
        }
      }
      return bans;
    });
  }

  async allowCidr(cidr: string): Promise<void> {
    const parsed = parseCidr(cidr);
    return this.#serial(() => {
      this.#allow.set(parsed.text, parsed);
      return this.#rewriteCidrSet('allow', parsed.family);
    });
  }

  async denyCidr(cidr: string): Promise<void> {
    const parsed = parseCidr(cidr);
    return this.#serial(() => {
      this.#deny.set(parsed.text, parsed);
      return this.#rewriteCidrSet('deny', parsed.family);
    });
  }

  /**
   * Replaces both CIDR lists at once (restore at start, bulk import): validated in full
   * first, then one batch. Calling allowCidr 100,000 times would rewrite the set each time.
   */
  async replaceCidrs(lists: { allow: readonly string[]; deny: readonly string[] }): Promise<void> {
    const allow = lists.allow.map(parseCidr);
    const deny = lists.deny.map(parseCidr);
    return this.#serial(async () => {
      const commands: object[] = [];
      for (const family of [4, 6] as const) {
        commands.push(
          ...this.#cidrSetCommands('allow', family, allow),
          ...this.#cidrSetCommands('deny', family, deny),
        );
      }
      await this.#runner.apply(commands as NftCommand[]);
      this.#allow.clear();
      this.#deny.clear();
      for (const c of allow) this.#allow.set(c.text, c);
      for (const c of deny) this.#deny.set(c.text, c);
    });
  }

  /** Removes the prefix from the allow and the deny list (a no-op where it is absent). */
  async removeCidr(cidr: string): Promise<void> {
    const parsed = parseCidr(cidr);
    return this.#serial(async () => {
      if (this.#allow.delete(parsed.text)) await this.#rewriteCidrSet('allow', parsed.family);
      if (this.#deny.delete(parsed.text)) await this.#rewriteCidrSet('deny', parsed.family);
    });
  }

  /** In nft mode a trusted source is exempt from the TCP connection cap. */
  async trust(ip: string, ttlSeconds: number): Promise<void> {
    const parsed = parseIp(ip);
    const ttl = checkTtl(ttlSeconds);
    const set: SetRef = { family: 'inet', name: setName('trusted', FAMILY_KEY(parsed.family)) };
    const element: SetElement = {
      elem: ttl > 0 ? { val: parsed.text, timeout: ttl } : { val: parsed.text },
    };
    return this.#serial(() =>
      this.#runner.apply(replaceElementCommands(set, [parsed.text], [element]) as NftCommand[]),
    );
  }

  /** Many trusted sources in few batches (replaying after the ruleset was rebuilt). */
  async trustMany(sources: readonly { ip: string; ttlSeconds: number }[]): Promise<void> {
    const parsed = sources.map((x) => ({ ip: parseIp(x.ip), ttl: checkTtl(x.ttlSeconds) }));
    return this.#serial(async () => {
      for (const chunk of chunks(parsed, BULK_CHUNK)) {
        const commands: object[] = [];
        for (const family of ['v4', 'v6'] as const) {
          const mine = chunk.filter((x) => FAMILY_KEY(x.ip.family) === family);
          if (mine.length === 0) continue;
          const set: SetRef = { family: 'inet', name: setName('trusted', family) };
          commands.push(
            ...replaceElementCommands(
              set,
              mine.map((x) => x.ip.text),
              mine.map((x) => ({
                elem: x.ttl > 0 ? { val: x.ip.text, timeout: x.ttl } : { val: x.ip.text },
              })),
            ),
          );
        }
        await this.#runner.apply(commands as NftCommand[]);
      }
    });
  }

  async untrust(ip: string): Promise<void> {
    const parsed = parseIp(ip);
    const set: SetRef = { family: 'inet', name: setName('trusted', FAMILY_KEY(parsed.family)) };
    return this.#serial(() =>
      this.#runner.apply(removeElementCommands(set, [parsed.text]) as NftCommand[]),
    );
  }

  // ---- the media relay's source filter (types.ts RelayLeg; the userspace relay forwards) ----

  /**
   * Programs one leg's filter; again for the same port updates it (only the elements that
   * change are replaced, and their counts are carried over, so latching keeps the figures).
   */
  async openRelay(leg: RelayLeg): Promise<void> {
    const c = checkRelayLeg(leg, null);
    return this.#serial(async () => {
      const before = this.#relays.get(c.localPort);
      const old = before === undefined ? [] : relayElements(before);
      const next = relayElements(c);
      const remove = old.filter((o) => !next.some((n) => sameElement(n, o)));
      const add = next.filter((n) => !old.some((o) => sameElement(o, n)));
      if (remove.length > 0) {
        const counted = await this.#elementCounters(c.localPort, remove);
        this.#carried.set(
          c.localPort,
          addCounters(this.#carried.get(c.localPort) ?? zeroCounters(), counted),
        );
      }
      const commands = [
        ...remove.map((r) => deleteElements(this.#relaySet(r.set), [r.elem])),
        ...add.map((a) => addElements(this.#relaySet(a.set), [a.elem])),
      ];
      if (commands.length > 0) await this.#runner.apply(commands as NftCommand[]);
      this.#relays.set(c.localPort, c);
    });
  }

  /** Removes the leg's filter; the port then drops everything (media_gate). */
  async closeRelay(localPort: number): Promise<RelayCounters | null> {
    checkLocalPort(localPort, null);
    return this.#serial(async () => {
      const leg = this.#relays.get(localPort);
      if (leg === undefined) return null;
      const elements = relayElements(leg);
      const final = addCounters(
        this.#carried.get(localPort) ?? zeroCounters(),
        await this.#elementCounters(localPort, elements),
      );
      await this.#runner.apply(
        elements.map((e) => deleteElements(this.#relaySet(e.set), [e.elem])) as NftCommand[],
      );
      this.#relays.delete(localPort);
      this.#carried.delete(localPort);
      return final;
    });
  }

  /** Per-port figures from the sets' element counters (forwarded = accepted up to the relay). */
  async relayCounters(localPort: number): Promise<RelayCounters | null> {
    checkLocalPort(localPort, null);
    return this.#serial(async () => {
      const leg = this.#relays.get(localPort);
      if (leg === undefined) return null;
      return addCounters(
        this.#carried.get(localPort) ?? zeroCounters(),
        await this.#elementCounters(localPort, relayElements(leg)),
      );
    });
  }

  /**
   * The media range gate (checkrtpaddr): UDP to a port of the range that no leg holds is
   * dropped and counted as rtp_unallocated; null lifts it.
   */
  async setMediaGate(range: { min: number; max: number } | null): Promise<void> {
    if (range !== null) {
      checkPort(range.min);
      checkPort(range.max);
    }
    return this.#serial(async () => {
      await this.#runner.apply(this.#gateCommands(range) as NftCommand[]);
      this.#gate = range;
    });
  }

  #gateCommands(range: { min: number; max: number } | null): object[] {
    const set = this.#relaySet(RELAY_SETS.gate);
    const out: object[] = [flushSet(set)];
    if (range !== null) out.push(addElements(set, [{ range: [range.min, range.max] }]));
    return out;
  }

  #relaySet(name: string): SetRef {
    return { family: this.#guard, name };
  }

  /** Sums the element counters of `elements` (elements of one port), by RelayCounters field. */
  async #elementCounters(port: number, elements: RelayElement[]): Promise<RelayCounters> {
    const out = zeroCounters();
    for (const { set, field } of RELAY_COUNTED) {
      if (!elements.some((e) => e.set === set)) continue;
      const listed = await this.#runner.list(['set', this.#guard, TABLE_NAME, set]);
      for (const item of listed) {
        const elems = (item as { set?: { elem?: unknown[] } }).set?.elem ?? [];
        for (const raw of elems) {
          const e = (
            raw as { elem?: { val?: unknown; counter?: { packets?: number; bytes?: number } } }
          ).elem;
          const val = e?.val as number | { concat?: unknown[] } | undefined;
          const key = typeof val === 'number' ? val : val?.concat?.[0];
          if (key !== port || e?.counter === undefined) continue;
          const packets = e.counter.packets ?? 0;
          if (field === 'forwarded') {
            out.forwardedPackets += packets;
            out.forwardedBytes += e.counter.bytes ?? 0;
          } else if (field === 'dropped') out.droppedPackets += packets;
          else out.userspacePackets += packets;
        }
      }
    }
    return out;
  }

  /** After a rebuild: the legs and the gate this process had programmed, in one batch. */
  #relayReplay(): object[] {
    const out: object[] = [];
    for (const leg of this.#relays.values())
      for (const e of relayElements(leg)) out.push(addElements(this.#relaySet(e.set), [e.elem]));
    if (this.#gate !== null) out.push(...this.#gateCommands(this.#gate));
    return out;
  }

  /**
   * The named counters of our tables. Read with one `list counters` (every table's, then
   * ours picked out): it never fails because a table is missing, so stats work whatever
   * the guard family and even while the ruleset is gone (then everything reads 0 and
   * tablesPresent says why).
   */
  async stats(): Promise<NftStats> {
    return this.#serial(async () => {
      const counters = new Map<string, number>();
      let present = false;
      for (const item of await this.#runner.list(['counters'])) {
        const counter = (
          item as {
            counter?: { table?: unknown; family?: unknown; name?: unknown; packets?: unknown };
          }
        ).counter;
        if (
          counter === undefined ||
          counter.table !== TABLE_NAME ||
          (counter.family !== 'inet' && counter.family !== 'netdev') ||
          typeof counter.name !== 'string' ||
          typeof counter.packets !== 'number'
        )
          continue;
        present = true;
        counters.set(counter.name, (counters.get(counter.name) ?? 0) + counter.packets);
      }
      const read = (name: string) => counters.get(name) ?? 0;
      const nft = {
        allowed: read(COUNTERS.allowed),
        banned: read(COUNTERS.banned),
        cidrDeny: read(COUNTERS.cidrDeny),
        connLimit: read(COUNTERS.connLimit),
        passed: read(COUNTERS.passed),
      };
      const drops: Record<DropReason, number> = {
        banned: nft.banned,
        cidr_deny: nft.cidrDeny,
        flood: nft.connLimit,
        rtp_source: read(COUNTERS.rtpSource),
        rtp_unallocated: read(COUNTERS.rtpUnallocated),
        malformed: 0,
        fragment: 0,
      };
      return {
        mode: this.mode,
        counters: ['nft'],
        counted: [...NFT_COUNTED],
        interfaces: [...this.#interfaces],
        drops,
        passed: nft.passed + nft.allowed,
        tablesPresent: present,
        nft,
      };
    });
  }

  /**
   * Adds the ingress chain of each new interface and removes those of interfaces gone, in
   * one batch (netdev guard only; with the inet guard every interface is covered anyway).
   */
  async setInterfaces(
    interfaces: readonly string[],
  ): Promise<{ added: string[]; removed: string[] }> {
    const wanted = [...new Set(interfaces.map(checkInterface))];
    if (wanted.length > MAX_INTERFACES)
      throw new NftErrors.TG_NFT_BAD_INTERFACE(
        wanted.length,
        `at most ${MAX_INTERFACES} interfaces`,
      );
    return this.#serial(async () => {
      if (this.#guard !== 'netdev') return { added: [], removed: [] };
      const added = wanted.filter((dev) => !this.#interfaces.includes(dev));
      const removed = this.#interfaces.filter((dev) => !wanted.includes(dev));
      const commands = [
        ...removed.flatMap((dev) => deleteIngressChain(dev)),
        ...added.flatMap((dev) => addIngressChain(dev)),
      ];
      await this.#runner.apply(commands as NftCommand[]);
      this.#interfaces = wanted;
      return { added, removed };
    });
  }

  /**
   * Compares what the kernel holds with what this driver built: both tables present with
   * the handles they were created with (`nft flush ruleset`, a deleted table, or a firewall
   * reload that recreated them all differ), and every ingress chain present. Reads only
   * tables and chains, never set elements, so it stays cheap with a million bans.
   */
  async check(): Promise<NftCheck> {
    return this.#serial(
      async () => {
        // Two nft calls, so something may change between them. Chains first: a ruleset
        // flushed between the reads is then reported as what it is, the table missing (a
        // table read first, then its chains, would name a chain instead).
        const chains = await this.#chains();
        const tables = await this.#tables();
        const names = tables.map((t) => `${t.family} ${TABLE_NAME}`);
        const problems: string[] = [];
        const expected: TableFamily[] = this.#guard === 'netdev' ? ['inet', 'netdev'] : ['inet'];
        for (const family of expected) {
          const found = tables.find((t) => t.family === family);
          if (found === undefined) problems.push(`table ${family} ${TABLE_NAME} is missing`);
          else if (found.handle !== this.#handles.get(family))
            problems.push(`table ${family} ${TABLE_NAME} was replaced`);
        }
        const present = new Set(chains.map((c) => `${c.family} ${c.name}`));
        const wantChains =
          this.#guard === 'netdev'
            ? ['inet conn_limit', ...this.#interfaces.map((d) => `netdev ${ingressChainName(d)}`)]
            : ['inet guard', 'inet conn_limit'];
        if (problems.length === 0) {
          for (const c of wantChains) if (!present.has(c)) problems.push(`chain ${c} is missing`);
        }
        const chainOf = new Map(this.#interfaces.map((d) => [ingressChainName(d), d]));
        return {
          intact: this.#initialized && problems.length === 0,
          problem: this.#initialized ? problems.join('; ') : 'not initialised',
          tables: names,
          chains: chains
            .filter((c) => c.family === 'netdev' && chainOf.has(c.name))
            .map((c) => chainOf.get(c.name) as string),
        };
      },
      { requireInit: false },
    );
  }

  async #tables(timeoutMs?: number): Promise<{ family: TableFamily; handle: number }[]> {
    const out: { family: TableFamily; handle: number }[] = [];
    for (const item of await this.#runner.list(['tables'], timeoutMs)) {
      const t = (item as { table?: { family?: unknown; name?: unknown; handle?: unknown } }).table;
      if (t?.name !== TABLE_NAME || typeof t.handle !== 'number') continue;
      if (t.family === 'inet' || t.family === 'netdev')
        out.push({ family: t.family, handle: t.handle });
    }
    return out;
  }

  async #chains(): Promise<{ family: TableFamily; name: string }[]> {
    const out: { family: TableFamily; name: string }[] = [];
    for (const item of await this.#runner.list(['chains'])) {
      const c = (item as { chain?: { family?: unknown; table?: unknown; name?: unknown } }).chain;
      if (c?.table !== TABLE_NAME || typeof c.name !== 'string') continue;
      if (c.family === 'inet' || c.family === 'netdev')
        out.push({ family: c.family, name: c.name });
    }
    return out;
  }

  /** nftables has no guard policy (per-source budgets are XDP's): nothing to apply. */
  async applyGuardPolicy(_policy: Partial<GuardConfig>): Promise<void> {}

  /** The driver alone, as the kernel holds it (kernel-dataplane.ts adds interfaces and owner). */
  async state(): Promise<DataplaneState> {
    const check = await this.check();
    return {
      mode: 'nft',
      enforcing: check.intact,
      reason: check.intact ? 'nftables ruleset in place' : check.problem,
      owner: null,
      interfaces: this.#interfaces.map((name) => {
        const here = this.#guard === 'inet' || check.chains.includes(name);
        return {
          name,
          mode: here ? ('nft' as const) : ('none' as const),
          reason: here ? 'nftables ingress chain' : 'ingress chain missing',
          up: true,
        };
      }),
      nftTables: check.tables,
      restores: 0,
    };
  }

  /**
   * nft mode has no flood events: nftables can drop over a rate (`limit`, meters) but has no
   * channel that tells userspace which source did it short of NFLOG parsing; per-source
   * budgets and the events that lead to bans are XDP's job. The listener is never called.
   */
  onFlood(_listener: (event: FloodEvent) => void): () => void {
    return () => {};
  }

  /** Deletes the tollgate tables; the driver can be init()ed again afterwards. */
  async close(): Promise<void> {
    return this.#serial(
      async () => {
        await this.#runner.apply([
          ...deleteTableCommands('inet'),
          ...deleteTableCommands('netdev'),
        ] as NftCommand[]);
        this.#initialized = false;
        this.#handles.clear();
      },
      { requireInit: false },
    );
  }

  #set(kind: SetKind, family: AddressFamily): SetRef {
    const tableFamily = kind === 'trusted' || kind === 'conn' ? 'inet' : this.#guard;
    return { family: tableFamily, name: setName(kind, family) };
  }

  /**
   * An interval set refuses overlapping elements, and nested prefixes are legitimate, so the
   * set is rewritten (flush + merged ranges, one batch) from the list kept here. CIDR rules
   * change rarely; bulk loads go through replaceCidrs.
   */
  async #rewriteCidrSet(kind: 'allow' | 'deny', family: IpFamily): Promise<void> {
    const source = kind === 'allow' ? this.#allow : this.#deny;
    await this.#runner.apply(this.#cidrSetCommands(kind, family, source.values()) as NftCommand[]);
  }

  /** flush + the merged ranges of one family, for the set (and its inet copy for allow). */
  #cidrSetCommands(
    kind: 'allow' | 'deny',
    family: IpFamily,
    cidrs: Iterable<ParsedCidr>,
  ): object[] {
    const ranges = mergeRanges([...cidrs].filter((c) => c.family === family));
    const elements: SetElement[] = ranges.map((r) => ({
      range: [ipText(family, r.first), ipText(family, r.last)],
    }));
    const key = FAMILY_KEY(family);
    const sets: SetRef[] = [this.#set(kind, key)];
    if (kind === 'allow' && this.#guard === 'netdev') {
      sets.push({ family: 'inet', name: setName('allow', key) });
    }
    const commands: object[] = [];
    for (const set of sets) {
      commands.push(flushSet(set));
      for (const chunk of chunks(elements, BULK_CHUNK)) commands.push(addElements(set, chunk));
    }
    return commands;
  }

  #serial<T>(job: () => Promise<T>, { requireInit = true } = {}): Promise<T> {
    const run = async () => {
      if (requireInit && !this.#initialized) throw new NftErrors.TG_NFT_NOT_INITIALIZED();
      return job();
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }
}
