// Mode `off`: no kernel enforcement (unprivileged development, or no XDP and no nftables).
// It remembers what it was asked so `status` and tests can show it, and says plainly that
// nothing is being dropped.
import {
  type Dataplane,
  type DataplaneState,
  type DataplaneStats,
  type GuardConfig,
  noDrops,
} from './types.ts';

export class OffDataplane implements Dataplane {
  readonly mode = 'off' as const;
  readonly banned = new Map<string, number>();
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
  async openMedia(_port: number, _peer: { ip: string; port: number }): Promise<void> {}
  async closeMedia(_port: number): Promise<void> {}
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
