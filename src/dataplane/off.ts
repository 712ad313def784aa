// Mode `off`: no kernel enforcement (unprivileged development, or no XDP and no nftables).
// It remembers what it was asked so `status` and tests can show it, and says plainly that
// nothing is being dropped.
import type { Dataplane, DataplaneStats, DropReason } from './types.ts';

const NO_DROPS: Record<DropReason, number> = {
  banned: 0,
  cidr_deny: 0,
  flood: 0,
  rtp_source: 0,
  rtp_unallocated: 0,
  malformed: 0,
  fragment: 0,
};

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
  async stats(): Promise<DataplaneStats> {
    return { mode: 'off', interfaces: [], drops: { ...NO_DROPS }, passed: 0 };
  }
  onFlood(): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
}
