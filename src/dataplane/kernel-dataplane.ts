// The daemon's kernel dataplane: XDP first on every protected interface, nftables behind
// it (mode xdp / xdp-generic), or nftables alone (mode nft). It owns the namespace's
// dataplane lock (owner.ts), follows the interfaces (interface-plan.ts) and reconciles:
//
//   start()      touches the kernel for the first time (the daemon calls it last, after
//                every socket is bound): nft tables, then XDP on each protected interface,
//                then the policy recorded so far (bans restored from the store, CIDRs).
//   every tick   (reconcileMs, 2 s by default) reads the links and what the kernel holds:
//                a new interface gets the program, a removed or excluded one loses it, a
//                detached program is re-attached, a flushed or replaced ruleset is rebuilt
//                from the desired state (desired-state.ts). Each restore is logged as a
//                warning and counted (state().restores).
//   close()      removes only what this process put there (its own program, its tables).
//
// Per interface: native XDP, else generic XDP (mode auto), else the nftables ingress chain
// alone; one interface failing never changes the others. Every policy change goes to both
// layers, so if XDP is detached (or misses a path such as locally generated traffic)
// nftables still holds the line. Drops are summed: a packet XDP dropped never reaches
// nftables, so nothing counts twice.
import type { Logger } from '../log.ts';
import { DesiredState } from './desired-state.ts';
import {
  type InterfaceSelection,
  type PlannedInterface,
  planInterfaces,
} from './interface-plan.ts';
import { readLinks } from './links.ts';
import type { NftCheck, NftDataplane } from './nft.ts';
import type { TableFamily } from './nft-ruleset.ts';
import type { NamespaceLock } from './owner.ts';
import {
  type AttachMode,
  type CounterSource,
  type Dataplane,
  type DataplaneMode,
  type DataplaneState,
  type DataplaneStats,
  DROP_REASONS,
  type DropReason,
  type FloodEvent,
  type GuardConfig,
  type InterfaceMode,
  type InterfaceState,
  noDrops,
  type RelayCounters,
  type RelayLeg,
} from './types.ts';
import { releasePredecessor } from './xdp-attach.ts';
import type { XdpGuard } from './xdp-guard.ts';
import type { XdpRecord } from './xdp-record.ts';

export interface KernelDataplaneOptions {
  lock: NamespaceLock;
  /** null: mode nft (no XDP). */
  guard: XdpGuard | null;
  /** The data directory's record of attached programs: a crashed predecessor's are cleared. */
  record?: XdpRecord;
  attachMode: AttachMode;
  nft: NftDataplane;
  nftInit: { sipTcpPorts: readonly number[]; maxConnPerSource: number };
  /** netdev (ingress chains on the protected interfaces) or inet (loopback-only listening). */
  nftGuard: TableFamily;
  selection: InterfaceSelection;
  reconcileMs: number;
  /** Why this mode, for status. */
  reason: string;
  log: Logger;
}

const NFT_COUNTED: readonly DropReason[] = [
  'banned',
  'cidr_deny',
  'flood',
  'rtp_source',
  'rtp_unallocated',
];
/** Expired entries are dropped from the desired state every this many ticks. */
const PRUNE_EVERY_TICKS = 60;

interface Outcome {
  ifindex: number;
  mode: InterfaceMode;
  reason: string;
}

export class KernelDataplane implements Dataplane {
  readonly #o: KernelDataplaneOptions;
  readonly #desired = new DesiredState();
  /** Protected interfaces: how each was placed at the last reconcile. */
  readonly #outcomes = new Map<string, Outcome>();
  #engaged = false;
  #closed = false;
  #restores = 0;
  #ticks = 0;
  #predecessorReleased = false;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #lastError = '';
  /** Mode nft: the media range and whether its gate is on (applyGuardPolicy). */
  readonly #media: { range: { min: number; max: number } | null; gate: boolean } = {
    range: null,
    gate: false,
  };

  constructor(options: KernelDataplaneOptions) {
    this.#o = options;
  }

  /** XDP forwards relayed media itself; in mode nft the userspace relay does. */
  get kernelForwarding(): boolean {
    return this.#o.guard !== null;
  }

  get mode(): DataplaneMode {
    if (this.#o.guard === null) return 'nft';
    if (this.#o.attachMode === 'generic') return 'xdp-generic';
    return [...this.#outcomes.values()].some((o) => o.mode === 'xdp-generic')
      ? 'xdp-generic'
      : 'xdp';
  }

  /** Times kernel state was found removed or changed and put back. */
  get restores(): number {
    return this.#restores;
  }

  /** First contact with the kernel: tables, programs, then the policy recorded so far. */
  async start(): Promise<void> {
    if (this.#engaged || this.#closed) return;
    await this.#initNft([]);
    this.#engaged = true;
    await this.reconcile();
    this.#timer = setInterval(() => {
      void this.reconcile().catch(() => {});
    }, this.#o.reconcileMs);
    this.#timer.unref();
  }

  /** One reconcile pass (the timer runs it; tests and a failed nft write call it directly). */
  reconcile(): Promise<void> {
    if (!this.#engaged || this.#closed) return Promise.resolve();
    this.#running ??= this.#reconcile().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #reconcile(): Promise<void> {
    const { log } = this.#o;
    try {
      if (++this.#ticks % PRUNE_EVERY_TICKS === 0) this.#desired.prune();
      const plan = planInterfaces(await readLinks(), this.#o.selection);
      const wanted = plan.filter((p) => p.protect);
      const names = wanted.map((p) => p.name);
      for (const p of wanted) this.#placeXdp(p);
      // First pass: a crashed predecessor's program goes wherever ours will not replace it
      // (an interface no longer protected; every interface in mode nft). The protected ones
      // were taken over just above. None can appear later: its owner is dead.
      if (!this.#predecessorReleased) {
        for (const p of plan) if (!p.protect || this.#o.guard === null) this.#releasePredecessor(p);
        this.#predecessorReleased = true;
      }
      for (const [name] of this.#outcomes) {
        if (names.includes(name)) continue;
        this.#outcomes.delete(name);
        try {
          this.#o.guard?.detach(name);
        } catch (err) {
          log.warn(
            { err, ifname: name },
            'could not detach XDP from an interface no longer protected',
          );
        }
        log.info({ ifname: name }, 'interface no longer protected (removed or excluded)');
      }
      const check = await this.#o.nft.check();
      if (!check.intact) {
        this.#restored(`nftables: ${check.problem}`);
        await this.#initNft(names);
      } else {
        const { added, removed } = await this.#o.nft.setInterfaces(names);
        if (added.length > 0 || removed.length > 0)
          log.info({ added, removed }, 'nftables ingress chains follow the interfaces');
      }
      this.#lastError = '';
    } catch (err) {
      const text = (err as Error).message;
      if (text !== this.#lastError) log.warn({ err }, 'dataplane reconcile failed; retrying');
      this.#lastError = text;
      throw err;
    }
  }

  /** XDP on one protected interface: ours there already, re-attached, or nft alone. */
  #placeXdp(p: PlannedInterface): void {
    const { guard, log } = this.#o;
    const before = this.#outcomes.get(p.name);
    const set = (mode: InterfaceMode, reason: string) => {
      this.#outcomes.set(p.name, { ifindex: p.ifindex, mode, reason });
      if (before === undefined) log.info({ ifname: p.name, mode, reason }, 'protecting interface');
      else if (before.reason !== reason || before.mode !== mode)
        log.warn(
          { ifname: p.name, mode, reason, was: before.mode },
          'interface protection changed',
        );
    };
    if (guard === null) {
      set('nft', `${p.reason}; nftables ingress (mode nft)`);
      return;
    }
    try {
      const probe = guard.attachments.probe(p.name);
      if (probe.ours && probe.mode !== null) {
        if (before === undefined || before.mode !== probe.mode) set(probe.mode, p.reason);
        return;
      }
      const wasOurs =
        before !== undefined &&
        before.ifindex === p.ifindex &&
        (before.mode === 'xdp' || before.mode === 'xdp-generic');
      if (wasOurs)
        this.#restored(
          probe.mode === null
            ? `XDP program detached from ${p.name}`
            : `XDP program on ${p.name} replaced by "${probe.progName}" (id ${probe.progId})`,
        );
      const mode = guard.attach(p.name, this.#o.attachMode);
      const fellBack = mode === 'xdp-generic' && this.#o.attachMode === 'auto';
      set(mode, fellBack ? `${p.reason}; native XDP refused, generic XDP` : p.reason);
    } catch (err) {
      set('nft', `XDP refused (${(err as Error).message}); nftables ingress only`);
    }
  }

  #releasePredecessor(p: PlannedInterface): void {
    const { record, guard, log } = this.#o;
    if (record === undefined) return;
    try {
      const id = releasePredecessor(p.name, record, guard?.attachments.programId);
      if (id !== 0)
        log.warn(
          { ifname: p.name, previousId: id, protected: p.protect },
          "removed a previous tollgate's XDP program where this one puts none (it died without detaching)",
        );
    } catch (err) {
      log.warn({ err, ifname: p.name }, "could not remove a previous tollgate's XDP program");
    }
  }

  #restored(what: string): void {
    this.#restores++;
    this.#o.log.warn(
      { what, restores: this.#restores },
      'kernel dataplane state was changed from outside; restoring it',
    );
  }

  /** (Re)builds the ruleset and replays the desired state into it. */
  async #initNft(interfaces: readonly string[]): Promise<void> {
    const { nft } = this.#o;
    await nft.init({ ...this.#o.nftInit, interfaces, guard: this.#o.nftGuard });
    await nft.banMany(this.#desired.bans());
    await nft.replaceCidrs(this.#desired.cidrs());
    await nft.trustMany(this.#desired.trusted());
    if (this.#o.guard === null) await nft.setMediaGate(this.#media.gate ? this.#media.range : null);
  }

  /**
   * Runs an nftables write; if it fails because the ruleset is gone, reconciles (which
   * rebuilds it from the desired state, this change included) instead of failing the call.
   */
  async #nftWrite(write: (nft: NftDataplane) => Promise<void>): Promise<void> {
    if (!this.#engaged) return;
    try {
      await write(this.#o.nft);
    } catch (err) {
      const check: NftCheck = await this.#o.nft.check();
      if (check.intact) throw err;
      await this.reconcile();
      if (!(await this.#o.nft.check()).intact) throw err;
      // Rebuilt from the desired state, which has this change; writing it again is
      // harmless and covers a rebuild that had already replayed before the change.
      await write(this.#o.nft);
    }
  }

  async ban(ip: string, ttlSeconds: number, reason: string): Promise<void> {
    this.#o.guard?.ban(ip, ttlSeconds);
    this.#desired.ban(ip, ttlSeconds, reason);
    await this.#nftWrite((nft) => nft.ban(ip, ttlSeconds, reason));
  }
  async unban(ipOrAll: string): Promise<void> {
    if (ipOrAll === 'all') this.#o.guard?.unbanAll();
    else this.#o.guard?.unban(ipOrAll);
    this.#desired.unban(ipOrAll);
    await this.#nftWrite((nft) => nft.unban(ipOrAll));
  }
  async allowCidr(cidr: string): Promise<void> {
    this.#o.guard?.allowCidr(cidr);
    this.#desired.allowCidr(cidr);
    await this.#nftWrite((nft) => nft.allowCidr(cidr));
  }
  async denyCidr(cidr: string): Promise<void> {
    this.#o.guard?.denyCidr(cidr);
    this.#desired.denyCidr(cidr);
    await this.#nftWrite((nft) => nft.denyCidr(cidr));
  }
  async removeCidr(cidr: string): Promise<void> {
    this.#o.guard?.removeCidr(cidr);
    this.#desired.removeCidr(cidr);
    await this.#nftWrite((nft) => nft.removeCidr(cidr));
  }
  async trust(ip: string, ttlSeconds: number): Promise<void> {
    this.#o.guard?.trust(ip, ttlSeconds);
    this.#desired.trust(ip, ttlSeconds);
    await this.#nftWrite((nft) => nft.trust(ip, ttlSeconds));
  }
  async untrust(ip: string): Promise<void> {
    this.#o.guard?.untrust(ip);
    this.#desired.untrust(ip);
    await this.#nftWrite((nft) => nft.untrust(ip));
  }
  /**
   * Mode xdp: the XDP entry forwards and filters (a packet it forwards never reaches
   * nftables). Mode nft: the nftables source filter, and the userspace relay forwards.
   */
  async openRelay(leg: RelayLeg): Promise<void> {
    if (this.#o.guard) this.#o.guard.openRelay(leg);
    else await this.#o.nft.openRelay(leg);
  }
  async closeRelay(localPort: number): Promise<RelayCounters | null> {
    if (this.#o.guard) return this.#o.guard.closeRelay(localPort);
    return this.#o.nft.closeRelay(localPort);
  }
  async relayCounters(localPort: number): Promise<RelayCounters | null> {
    if (this.#o.guard) return this.#o.guard.relayCounters(localPort);
    return this.#o.nft.relayCounters(localPort);
  }
  /**
   * XDP: the guard's config. Mode nft: the media range gate (checkrtpaddr) is the one part
   * of the policy nftables enforces (the budgets are XDP's).
   */
  async applyGuardPolicy(policy: Partial<GuardConfig>): Promise<void> {
    if (this.#o.guard) {
      this.#o.guard.configure(policy);
      return;
    }
    if (policy.mediaPorts !== undefined) this.#media.range = policy.mediaPorts;
    if (policy.checkRtpAddr !== undefined) this.#media.gate = policy.checkRtpAddr;
    const gate = this.#media.gate ? this.#media.range : null;
    await this.#nftWrite((nft) => nft.setMediaGate(gate));
  }

  async stats(): Promise<DataplaneStats> {
    const { guard } = this.#o;
    const drops = noDrops();
    const counters: CounterSource[] = [];
    let passed = 0;
    let dropBytes: Record<DropReason, number> | undefined;
    if (guard !== null) {
      counters.push('xdp');
      const x = guard.drops();
      for (const r of DROP_REASONS) drops[r] += x[r];
      dropBytes = guard.dropBytes();
      passed = guard.passed();
    }
    if (this.#engaged) {
      const n = await this.#o.nft.stats();
      if (n.tablesPresent) counters.push('nft');
      for (const r of DROP_REASONS) drops[r] += n.drops[r];
      if (guard === null) passed = n.passed;
    }
    return {
      mode: this.mode,
      counters,
      counted: guard !== null ? [...DROP_REASONS] : [...NFT_COUNTED],
      interfaces: [...this.#outcomes.keys()].sort(),
      drops,
      ...(dropBytes ? { dropBytes } : {}),
      passed,
    };
  }

  /** Read from the kernel now: the links, the program on each, the tables and chains. */
  async state(): Promise<DataplaneState> {
    const { guard, nftGuard } = this.#o;
    const plan = planInterfaces(await readLinks(), this.#o.selection);
    const check = this.#engaged ? await this.#o.nft.check() : null;
    const interfaces: InterfaceState[] = plan.map((p) => {
      const base = { name: p.name, up: p.up };
      if (!p.protect) return { ...base, mode: 'none', reason: p.reason };
      const outcome = this.#outcomes.get(p.name);
      if (guard !== null) {
        try {
          const probe = guard.attachments.probe(p.name);
          if (probe.ours && probe.mode !== null)
            return { ...base, mode: probe.mode, reason: outcome?.reason ?? p.reason };
        } catch {
          // gone between the listing and the probe
        }
      }
      const nftHere =
        check?.intact === true && (nftGuard === 'inet' || check.chains.includes(p.name));
      if (nftHere) {
        const why =
          guard === null || outcome?.mode === 'nft'
            ? (outcome?.reason ?? p.reason)
            : `${p.reason}; our XDP program is not attached (being restored)`;
        return { ...base, mode: 'nft', reason: why };
      }
      return {
        ...base,
        mode: 'none',
        reason: this.#engaged ? `${p.reason}; not protected yet (being restored)` : 'not started',
      };
    });
    const xdpHeld = interfaces.some((i) => i.mode === 'xdp' || i.mode === 'xdp-generic');
    return {
      mode: this.mode,
      enforcing: (check?.intact ?? false) || xdpHeld,
      reason:
        check === null || check.intact ? this.#o.reason : `${this.#o.reason}; ${check.problem}`,
      owner: { ...this.#o.lock.owner },
      interfaces,
      nftTables: check?.tables ?? [],
      restores: this.#restores,
    };
  }

  onFlood(listener: (event: FloodEvent) => void): () => void {
    return this.#o.guard?.onFlood(listener) ?? (() => {});
  }

  /** Removes what this process put in the kernel (nothing if it never started), then unlocks. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#running?.catch(() => {});
    const errors: unknown[] = [];
    try {
      this.#o.guard?.close();
    } catch (err) {
      errors.push(err);
    }
    if (this.#engaged) {
      try {
        await this.#o.nft.close();
      } catch (err) {
        errors.push(err);
      }
    }
    await this.#o.lock.release();
    if (errors.length > 0) throw errors[0];
  }
}
