// The async Dataplane interface over one XdpGuard (mode `xdp` or `xdp-generic`): the guard
// alone, as the XDP test host runs it. The daemon runs it behind kernel-dataplane.ts, which
// adds nftables, the interface tracking and the reconciliation.

import {
  type Dataplane,
  type DataplaneState,
  type DataplaneStats,
  DROP_REASONS,
  type FloodEvent,
  type GuardConfig,
  type RelayCounters,
  type RelayLeg,
} from './types.ts';
import type { XdpGuard } from './xdp-guard.ts';

export class XdpDataplane implements Dataplane {
  readonly guard: XdpGuard;
  readonly kernelForwarding = true;

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
  async openRelay(leg: RelayLeg): Promise<void> {
    this.guard.openRelay(leg);
  }
  async closeRelay(localPort: number): Promise<RelayCounters | null> {
    return this.guard.closeRelay(localPort);
  }
  async relayCounters(localPort: number): Promise<RelayCounters | null> {
    return this.guard.relayCounters(localPort);
  }
  async applyGuardPolicy(policy: Partial<GuardConfig>): Promise<void> {
    this.guard.configure(policy);
  }
  async stats(): Promise<DataplaneStats> {
    return {
      mode: this.mode,
      counters: ['xdp'],
      counted: [...DROP_REASONS],
      interfaces: this.guard.interfaces().map((i) => i.ifname),
      drops: this.guard.drops(),
      dropBytes: this.guard.dropBytes(),
      passed: this.guard.passed(),
    };
  }
  async state(): Promise<DataplaneState> {
    const interfaces = this.guard.interfaces().map(({ ifname }) => {
      const probe = this.guard.attachments.probe(ifname);
      return {
        name: ifname,
        mode: probe.ours && probe.mode !== null ? probe.mode : ('none' as const),
        reason: probe.ours ? 'XDP program attached' : 'our XDP program is not attached',
        up: true,
      };
    });
    return {
      mode: this.mode,
      enforcing: interfaces.some((i) => i.mode !== 'none'),
      reason: 'XDP guard alone',
      owner: null,
      interfaces,
      nftTables: null,
      restores: 0,
    };
  }
  onFlood(listener: (event: FloodEvent) => void): () => void {
    return this.guard.onFlood(listener);
  }
  async close(): Promise<void> {
    this.guard.close();
  }
}
