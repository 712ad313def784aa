// Nothing dropped or let through silently (issue 16 §6): a detection that does not ban —
// because the source is trusted (trustlanip, trustedip, ...), because the mode only detects
// (enablefirewall 1, autoban 0), or a message dropped by allowua — is recorded here, with the
// rule, the evidence of the first time and when it was last seen, and is listed by
// `tollgatectl detections`.
//
// Bounded and fair per address: one record per (address, rule), so an address repeating
// itself only raises its own count and cannot push out what others did; at most CAPACITY
// addresses are kept, the one seen longest ago forgotten first (`forgotten` counts them).
import type { Logger } from '../../log.ts';
import type { BanEvidence } from './events.ts';

export interface DetectionRecord {
  ip: string;
  rule: string;
  /** "not banned: trusted by trustlanip", "not banned: autoban 0", ... */
  outcome: string;
  /** How many times since the first (messages, or trips of the rule's threshold). */
  count: number;
  /** ms since epoch. */
  firstAt: number;
  lastAt: number;
  /** The evidence of the first time. */
  evidence: BanEvidence;
}

export class DetectionLog {
  static readonly CAPACITY = 4096;
  /** address → rule → record; Map order = least recently seen address first. */
  readonly #byAddress = new Map<string, Map<string, DetectionRecord>>();
  readonly #capacity: number;
  readonly #log: Logger | undefined;
  #forgotten = 0;

  constructor(log?: Logger, capacity = DetectionLog.CAPACITY) {
    this.#log = log;
    this.#capacity = capacity;
  }

  /**
   * Counts one more time for a record that exists; false when there is none yet (the caller
   * then builds the evidence and calls add(): no evidence is built per message).
   */
  touch(ip: string, rule: string, now: number): boolean {
    const rules = this.#byAddress.get(ip);
    const record = rules?.get(rule);
    if (record === undefined) return false;
    record.count++;
    record.lastAt = now;
    this.#byAddress.delete(ip);
    this.#byAddress.set(ip, rules!);
    return true;
  }

  add(evidence: BanEvidence, outcome: string, now: number): void {
    if (this.touch(evidence.ip, evidence.rule, now)) return;
    let rules = this.#byAddress.get(evidence.ip);
    if (rules === undefined) {
      rules = new Map();
      if (this.#byAddress.size >= this.#capacity) {
        const oldest = this.#byAddress.keys().next().value;
        if (oldest !== undefined) {
          this.#byAddress.delete(oldest);
          this.#forgotten++;
        }
      }
    } else {
      this.#byAddress.delete(evidence.ip);
    }
    this.#byAddress.set(evidence.ip, rules);
    rules.set(evidence.rule, {
      ip: evidence.ip,
      rule: evidence.rule,
      outcome,
      count: 1,
      firstAt: now,
      lastAt: now,
      evidence,
    });
    // Once per (address, rule) while it is remembered: the count says how often since.
    this.#log?.warn(
      { ip: evidence.ip, rule: evidence.rule, reason: evidence.reason },
      `attack detected, ${outcome}`,
    );
  }

  /** Most recently seen first. */
  list(): DetectionRecord[] {
    const out: DetectionRecord[] = [];
    for (const rules of this.#byAddress.values())
      for (const r of rules.values()) out.push({ ...r });
    return out.sort((a, b) => b.lastAt - a.lastAt);
  }

  get forgotten(): number {
    return this.#forgotten;
  }

  get size(): number {
    return this.#byAddress.size;
  }
}
