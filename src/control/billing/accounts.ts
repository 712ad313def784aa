// What billing needs of an account, read from its per-user fields (USER_FIELDS) once and
// cached until the account changes: its type, prepaid or postpaid, tariff and every limit,
// money already as micro-units.
//
// Account types (the reference's): 0 enduser, 1 traffic sender, 2 SIP server. A SIP server
// is a route: its speech limits count the calls it terminates, and routing skips it over
// them (trunkUsable). New accounts start with credit 0, prepaid, 5 lines (the checklist).
import type { ConfigValue } from '../../config/schema.ts';
import { fromConfig, type Micros } from './money.ts';

export const ENDUSER = 0;
export const TRAFFIC_SENDER = 1;
export const SIP_SERVER = 2;

export interface AccountProfile {
  readonly name: string;
  readonly type: 0 | 1 | 2;
  readonly postpaid: boolean;
  /** The tariff it is rated with ('' = the default tariff). */
  readonly tariff: string;
  readonly maxlines: number;
  readonly maxlinesoffpeak: number;
  readonly maxmonthlycredit: Micros;
  readonly maxmonthlycreditinc: Micros;
  readonly maxmonthlycreditend: Micros;
  readonly onlylocalaccess: boolean;
  readonly maxdailycredit: Micros;
  /** The operator's seed for the dynamic limit's highest daily spend. */
  readonly maxdyndailycredit: Micros;
  readonly maxslperday: number;
  readonly maxslpermonth: number;
}

export function profileFrom(name: string, f: Record<string, ConfigValue>): AccountProfile {
  const money = (k: string) => fromConfig(Number(f[k] ?? 0));
  const type = Number(f.type ?? 0);
  return {
    name,
    type: type === 1 || type === 2 ? type : 0,
    postpaid: f.postpaid === true,
    tariff: String(f.tariff ?? ''),
    maxlines: Number(f.maxlines ?? 5),
    maxlinesoffpeak: Number(f.maxlinesoffpeak ?? 5),
    maxmonthlycredit: money('maxmonthlycredit'),
    maxmonthlycreditinc: money('maxmonthlycreditinc'),
    maxmonthlycreditend: money('maxmonthlycreditend'),
    onlylocalaccess: f.onlylocalaccess === true,
    maxdailycredit: money('maxdailycredit'),
    maxdyndailycredit: money('maxdyndailycredit'),
    maxslperday: Number(f.maxslperday ?? 0),
    maxslpermonth: Number(f.maxslpermonth ?? 0),
  };
}
