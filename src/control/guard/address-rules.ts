// The generic engine for the table's `counter` rows (rules.ts): one windowed counter per row,
// fed by the events the row names, evaluated in table order. One event may count for several
// rows; the answer is the first row's that is not a pass, and a ban of the whole address ends
// the evaluation (its counters are gone with the ban). An IP:port row's answer yields to any
// answer about the whole address (the NAT rule bans the port first, the address later).
import type { GuardConfig } from './config.ts';
import { hashKey, WindowedCounters } from './counters.ts';
import type { GuardDecision, GuardEvent, GuardEventKind } from './events.ts';
import { PASS } from './events.ts';
import type { Trip } from './evidence.ts';
import { truncateSample } from './redact.ts';
import { RULES, type Rule, type RuleEnv, scopeOf } from './rules.ts';

/** What a row's trip turns into (enforce.ts): a ban, a detection, ... */
export type TripHandler = (event: GuardEvent, now: number, trip: Trip) => GuardDecision;

interface CounterRow {
  readonly rule: Rule;
  /** Keyed by the address, or "ip:port" for an ip:port row; First = the opening sample. */
  readonly table: WindowedCounters<string>;
  /** ip+distinct-user rows: the (address, user) pairs already counted. */
  readonly pairs: WindowedCounters | undefined;
}

export class AddressRules {
  readonly #rows: CounterRow[];
  readonly #byKind = new Map<GuardEventKind, CounterRow[]>();
  readonly #resetBy = new Map<GuardEventKind, CounterRow[]>();

  constructor(cfg: GuardConfig, capacity: number, rules: readonly Rule[] = RULES) {
    this.#rows = rules
      .filter((rule) => rule.engine === 'counter')
      .map((rule) => {
        const periodMs = rule.window(cfg);
        return {
          rule,
          table: new WindowedCounters<string>({ periodMs, capacity }),
          pairs:
            rule.per === 'ip+distinct-user'
              ? new WindowedCounters({ periodMs, capacity })
              : undefined,
        };
      });
    for (const row of this.#rows) {
      for (const kind of row.rule.on) push(this.#byKind, kind, row);
      for (const kind of row.rule.resetOn ?? []) push(this.#resetBy, kind, row);
    }
  }

  /** Running windows keep their start and are judged by the new length. */
  reconfigure(cfg: GuardConfig): void {
    for (const row of this.#rows) {
      const periodMs = row.rule.window(cfg);
      row.table.periodMs = periodMs;
      if (row.pairs) row.pairs.periodMs = periodMs;
    }
  }

  /** Counts `event` (`h` = hashKey(event.ip)) for every row it feeds; see the top comment. */
  evaluate(
    event: GuardEvent,
    now: number,
    h: number,
    cfg: GuardConfig,
    env: RuleEnv,
    trip: TripHandler,
  ): GuardDecision {
    const resets = this.#resetBy.get(event.kind);
    if (resets !== undefined) for (const row of resets) row.table.deleteHashed(event.ip, h);
    const rows = this.#byKind.get(event.kind);
    if (rows === undefined) return PASS;
    let decision = PASS;
    let portDecision = PASS;
    for (const row of rows) {
      const rule = row.rule;
      if (rule.when !== undefined && !rule.when(event)) continue;
      const threshold = rule.threshold(cfg, env);
      if (threshold <= 0) continue;
      let key = event.ip;
      let hash = h;
      if (rule.per === 'ip:port') {
        key = `${event.ip}:${event.port}`;
        hash = hashKey(key);
      } else if (row.pairs !== undefined) {
        // Counted once per user name (addPair makes the "ip\nuser" key only for a new pair).
        if (row.pairs.addPair(event.ip, event.user ?? '', now) !== 1) continue;
      }
      const result = this.#count(row, key, hash, event, now, threshold, trip);
      if (result === PASS) continue;
      if (rule.per === 'ip:port') {
        if (portDecision === PASS) portDecision = result;
        continue;
      }
      if (decision === PASS) decision = result;
      if (result.action === 'ban') break;
    }
    return decision !== PASS ? decision : portDecision;
  }

  #count(
    row: CounterRow,
    key: string,
    hash: number,
    event: GuardEvent,
    now: number,
    threshold: number,
    trip: TripHandler,
  ): GuardDecision {
    const table = row.table;
    const count = table.addHashed(key, hash, now, 1);
    // The window just opened: keep a bounded copy of the message that opened it.
    if (count === 1 && event.sample !== undefined) table.setFirst(truncateSample(event.sample));
    if (count < threshold || !table.tripOnce()) return PASS;
    return trip(event, now, {
      rule: row.rule.rule,
      scope: scopeOf(row.rule),
      count,
      threshold,
      windowMs: table.periodMs,
      windowStart: table.lastStart(),
      first: table.lastFirst(),
    });
  }

  /** Forgets the address's counts (a ban, a lifted ban). */
  delete(ip: string): void {
    for (const row of this.#rows) row.table.delete(ip);
  }

  /** Forgets "ip:port" counts (an IP:port ban made or lifted). */
  deletePortKeys(keys: readonly string[]): void {
    for (const row of this.#rows)
      if (row.rule.per === 'ip:port') for (const key of keys) row.table.delete(key);
  }

  clear(): void {
    for (const row of this.#rows) {
      row.table.clear();
      row.pairs?.clear();
    }
  }

  /** Every table, for stats(). */
  tables(): WindowedCounters<unknown>[] {
    const out: WindowedCounters<unknown>[] = [];
    for (const row of this.#rows) {
      out.push(row.table);
      if (row.pairs) out.push(row.pairs);
    }
    return out;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
