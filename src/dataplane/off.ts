// Mode `off`: no kernel enforcement (unprivileged development, or no XDP and no nftables).
// It remembers what it was asked so `status` and tests can show it, and says plainly that
// nothing is being dropped.
import { type CheckedLeg, checkLocalPort, checkRelayLeg, zeroCounters } from './relay-leg.ts';
import {
  type Dataplane,
  type DataplaneState,
  type DataplaneStats,
  type GuardConfig,
  noDrops,
  type RelayCounters,
  type RelayLeg,
} from './types.ts';

export class OffDataplane implements Dataplane {
  readonly mode = 'off' as const;
  /** No kernel here: the userspace relay forwards and filters every packet itself. */
  readonly kernelForwarding = false;
  readonly banned = new Map<string, number>();
  /** Relay legs asked for, by local port (checked as in every mode, enforced by nothing). */
  readonly relays = new Map<number, CheckedLeg>();
  readonly reason: string;

  constructor(reason: string) {
    this.reason = reason;
  }

  async ban(ip: string, ttlSeconds: number): Promise<void> {
    this.banned.set(ip, ttlSeconds);
  }
  async unban(ipOrAll: string): Promise<void> {
    if (ipOrAll === 'all') this.banned.clear();
    else this.banned.delete(ipOrAll);
  }
  async allowCidr(_cidr: string): Promise<void> {}
  async denyCidr(_cidr: string): Promise<void> {}
  async removeCidr(_cidr: string): Promise<void> {}
  async trust(_ip: string, _ttlSeconds: number): Promise<void> {}
  async untrust(_ip: string): Promise<void> {}
  async openRelay(leg: RelayLeg): Promise<void> {
    const checked = checkRelayLeg(leg, null);
    this.relays.set(checked.localPort, checked);
  }
  async closeRelay(localPort: number): Promise<RelayCounters | null> {
    checkLocalPort(localPort, null);
    return this.relays.delete(localPort) ? zeroCounters() : null;
  }
  /** Nothing counts in the kernel: zeros for an open leg. */
  async relayCounters(localPort: number): Promise<RelayCounters | null> {
    checkLocalPort(localPort, null);
    return this.relays.has(localPort) ? zeroCounters() : null;
  }
  /** No kernel guard in this mode: nothing to apply. */
  async applyGuardPolicy(_policy: Partial<GuardConfig>): Promise<void> {}
  /** The same shape as every mode: no kernel layer counted anything. */
  async stats(): Promise<DataplaneStats> {
    return { mode: 'off', counters: [], counted: [], interfaces: [], drops: noDrops(), passed: 0 };
  }
  async state(): Promise<DataplaneState> {
    return {
      mode: 'off',
      enforcing: false,
      reason: this.reason,
      owner: null,
      interfaces: [],
      nftTables: null,
      restores: 0,
    };
  }
  onFlood(): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
}
