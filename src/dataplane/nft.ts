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
  type ParsedIp,
  parseCidr,
  parseIp,
} from './nft-address.ts';
import { NftErrors } from './nft-errors.ts';
import {
  type AddressFamily,
  addElements,
  COUNTERS,
  deleteElements,
  deleteTableCommands,
  flushSet,
  guardFamily,
  initCommands,
  type SetElement,
  type SetKind,
  type SetRef,
  setName,
  TABLE_NAME,
  type TableFamily,
} from './nft-ruleset.ts';
import { type NftCommand, NftRunner, type NftRunnerOptions } from './nft-runner.ts';
import type { Dataplane, DataplaneStats, DropReason, FloodEvent } from './types.ts';

export interface NftInitOptions {
  /** Interfaces to guard at netdev ingress; omitted or empty = every interface (inet prerouting). */
  interfaces?: readonly string[];
  /** TCP signaling ports under the per-source connection cap (SIP 5060, SIPS 5061). */
  sipTcpPorts?: readonly number[];
  /** Concurrent TCP connections one source may hold to the signaling ports. */
  maxConnPerSource: number;
  /** Sources tracked at once per address family by the connection cap. */
  connTrackedSources?: number;
}

export interface NftBan {
  ip: string;
  reason: string;
  /** The ttl the ban was set with; 0 = until lifted. */
  ttlSeconds: number;
  /** Seconds left as the kernel reports them; null for a ban without expiry. */
  expiresInSeconds: number | null;
}

export interface NftStats extends DataplaneStats {
  /** The raw counters; `drops.flood` is `connLimit` (TCP connections refused over the cap). */
  nft: { allowed: number; banned: number; cidrDeny: number; connLimit: number; passed: number };
}

export const DEFAULT_SIP_TCP_PORTS: readonly number[] = [5060, 5061];
/** Ten years: longer is a typo, and "forever" is ttl 0. */
export const MAX_TTL_SECONDS = 315_360_000;
/** nft keeps element comments up to 128 bytes (NFTNL_UDATA_COMMENT_MAXLEN). */
const MAX_REASON_BYTES = 127;
/** Elements per batch in bulk operations: keeps one nft invocation's memory bounded. */
const BULK_CHUNK = 10_000;
const MAX_INTERFACES = 64;

const FAMILY_KEY = (family: IpFamily): AddressFamily => (family === 4 ? 'v4' : 'v6');

function checkTtl(ttl: unknown): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS) {
    throw new NftErrors.TG_NFT_BAD_TTL(String(ttl), MAX_TTL_SECONDS);
  }
  return ttl;
}

function checkReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.length === 0) {
    throw new NftErrors.TG_NFT_BAD_REASON(
      String(reason).slice(0, 40),
      'must be a non-empty string',
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(reason)) {
    throw new NftErrors.TG_NFT_BAD_REASON(
      JSON.stringify(reason).slice(0, 60),
      'control characters',
    );
  }
  // Truncate on a character boundary: a long reason must not make a ban fail.
  let out = reason;
  while (Buffer.byteLength(out) > MAX_REASON_BYTES) out = out.slice(0, -1);
  return out;
}

function checkPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new NftErrors.TG_NFT_BAD_PORT(String(port));
  }
  return port;
}

function checkInteger(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new NftErrors.TG_NFT_BAD_LIMIT(what, String(value), `${min}..${max}`);
  }
  return value;
}

function checkInterface(name: unknown): string {
  // IFNAMSIZ is 16 including the NUL; '/' and whitespace are never valid in a name.
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:@-]{1,15}$/.test(name)) {
    throw new NftErrors.TG_NFT_BAD_INTERFACE(
      String(name).slice(0, 40),
      'expected 1-15 of [A-Za-z0-9_.:@-]',
    );
  }
  return name;
}

function banElement(ip: ParsedIp, ttl: number, reason: string): SetElement {
  return {
    elem:
      ttl > 0 ? { val: ip.text, timeout: ttl, comment: reason } : { val: ip.text, comment: reason },
  };
}

/**
 * "add, delete, add" in one batch: the first add makes the delete safe when the element is
 * new, the delete clears an old timeout, and the last add sets the new one. nft 1.0.6 has no
 * `destroy`, and a plain add of an existing element keeps its old timeout.
 */
function replaceElementCommands(set: SetRef, plain: string[], elements: SetElement[]): object[] {
  return [addElements(set, plain), deleteElements(set, plain), addElements(set, elements)];
}

/** "add, delete": removes the element whether or not it is present. */
function removeElementCommands(set: SetRef, plain: string[]): object[] {
  return [addElements(set, plain), deleteElements(set, plain)];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function parseBanElement(raw: unknown): NftBan | undefined {
  if (typeof raw === 'string')
    return { ip: raw, reason: '', ttlSeconds: 0, expiresInSeconds: null };
  if (typeof raw !== 'object' || raw === null || !('elem' in raw)) return undefined;
  const elem = (raw as { elem: Record<string, unknown> }).elem;
  if (typeof elem.val !== 'string') return undefined;
  const timeout = typeof elem.timeout === 'number' ? elem.timeout : 0;
  return {
    ip: elem.val,
    reason: typeof elem.comment === 'string' ? elem.comment : '',
    ttlSeconds: timeout,
    expiresInSeconds: timeout > 0 && typeof elem.expires === 'number' ? elem.expires : null,
  };
}

export class NftDataplane implements Dataplane {
  readonly mode = 'nft' as const;
  readonly #runner: NftRunner;
  #queue: Promise<unknown> = Promise.resolve();
  #initialized = false;
  #interfaces: readonly string[] = [];
  #guard: TableFamily = 'inet';
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
    return this.#serial(
      async () => {
        await this.#runner.apply(
          initCommands({
            interfaces,
            sipTcpPorts,
            maxConnPerSource,
            connTrackedSources,
          }) as NftCommand[],
        );
        this.#interfaces = interfaces;
        this.#guard = guardFamily(interfaces);
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

  async untrust(ip: string): Promise<void> {
    const parsed = parseIp(ip);
    const set: SetRef = { family: 'inet', name: setName('trusted', FAMILY_KEY(parsed.family)) };
    return this.#serial(() =>
      this.#runner.apply(removeElementCommands(set, [parsed.text]) as NftCommand[]),
    );
  }

  /**
   * XDP-only; nft mode does not filter media. RTP arrives at packet rates where a per-port
   * peer check belongs in XDP; this layer keeps signaling-level protection. The arguments
   * are still validated so a caller's bug shows up in every mode.
   */
  async openMedia(port: number, peer: { ip: string; port: number }): Promise<void> {
    checkPort(port);
    parseIp(peer.ip);
    checkPort(peer.port);
  }

  /** XDP-only; see openMedia. */
  async closeMedia(port: number): Promise<void> {
    checkPort(port);
  }

  async stats(): Promise<NftStats> {
    return this.#serial(async () => {
      const counters = new Map<string, number>();
      const families: TableFamily[] = this.#guard === 'inet' ? ['inet'] : ['netdev', 'inet'];
      for (const family of families) {
        // 'list counters', not 'list table': the latter would also dump every set element.
        for (const item of await this.#runner.list(['counters', 'table', family, TABLE_NAME])) {
          const counter = (item as { counter?: { name?: unknown; packets?: unknown } }).counter;
          if (
            counter !== undefined &&
            typeof counter.name === 'string' &&
            typeof counter.packets === 'number'
          ) {
            counters.set(counter.name, (counters.get(counter.name) ?? 0) + counter.packets);
          }
        }
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
        rtp_source: 0,
        rtp_unallocated: 0,
        malformed: 0,
        fragment: 0,
      };
      return {
        mode: this.mode,
        interfaces: [...this.#interfaces],
        drops,
        passed: nft.passed + nft.allowed,
        nft,
      };
    });
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
