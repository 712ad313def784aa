// What the web layer is given by the daemon: the same control services the console uses
// (src/control), plus a few read-only functions for facts only the daemon knows (status,
// kernel counters). The web layer translates HTTP to calls on these; it holds no policy.
import type { Settings } from '../config/settings.ts';
import type { AdminService } from '../control/admins.ts';
import type { AuditReport } from '../control/audit/audit.ts';
import type { BanService } from '../control/bans.ts';
import type { BillingService } from '../control/billing/service.ts';
import type { DetectionRecord } from '../control/guard/index.ts';
import type { PortBans } from '../control/guard-wiring.ts';
import type { RoutingService } from '../control/routing/routing.ts';
import type { UserService } from '../control/users.ts';
import type { DataplaneStats } from '../dataplane/types.ts';
import type { Logger } from '../log.ts';
import type { LiveCallTable } from '../policy-port.ts';
import type { Store } from '../store/store.ts';

export interface WebContext {
  settings: Settings;
  store: Store;
  bans: BanService;
  portBans?: PortBans;
  detections?: () => DetectionRecord[];
  users: UserService;
  admins: AdminService;
  status(): Promise<Record<string, unknown>>;
  stats(): Promise<Record<string, unknown>>;
  /** The dataplane's own counters (bytes per reason too), for /metrics. */
  dataplaneStats(): Promise<DataplaneStats>;
  audit(): AuditReport;
  /**
   * A failed web or API login, reported to the guard like a failed SIP authentication
   * (SecurityReport 'auth-fail', method 'HTTP'): repeated failures ban the address.
   */
  reportAuthFailure(ip: string, port: number, detail: string): void;
  log: Logger;
  dataDir: string;
  /** Accounts' money, top-ups, CDRs and tariffs (src/control/billing), when the daemon bills. */
  billing?: Pick<BillingService, 'account' | 'topUp' | 'cdrs' | 'tariffs'>;
  /** Trunks and outbound routes (what `tollgatectl trunks` / `routes` manage). */
  routing?: RoutingService;
  /** The proxy's live calls (src/sip/proxy/calls.ts), as the console's calls/hangup see them. */
  calls?: LiveCallTable;
}
