// The static firewall: CIDR rules an operator sets, enforced in the kernel by the dataplane.
//   deny   `firewalldeny`  dropped before anything else looks at them (after allow)
//   allow  `trustedip`     passed past bans and budgets, and never auto-banned by the guard
//                          (the same list the guard trusts, so the two cannot disagree)
// Both are live config keys, so they are validated by the schema, stored, and survive a
// restart; this module keeps the kernel in step with them. Rules apply only with
// enablefirewall ≥ 1, and allow rules follow allowtrustedip (0/1: none, 2: private ones only).

import type { Settings } from '../config/settings.ts';
import type { Dataplane } from '../dataplane/types.ts';
import type { Logger } from '../log.ts';
import { isPrivateIp } from './guard/trust.ts';

const FIREWALL_KEYS = ['trustedip', 'firewalldeny', 'enablefirewall', 'allowtrustedip'] as const;
const KEYS = new Set<string>(FIREWALL_KEYS);

export interface StaticRules {
  allow: string[];
  deny: string[];
}

/** The rules that should be in the kernel for the current settings. */
export function staticRules(settings: Settings): StaticRules {
  const config = settings.view(FIREWALL_KEYS);
  if (config.enablefirewall < 1) return { allow: [], deny: [] };
  const level = config.allowtrustedip;
  const trusted = config.trustedip;
  const allow =
    level >= 3
      ? [...trusted]
      : level === 2
        ? trusted.filter((c) => isPrivateIp(c.split('/')[0]!))
        : [];
  return { allow, deny: [...config.firewalldeny] };
}

export class StaticFirewall {
  readonly #settings: Settings;
  readonly #dataplane: Dataplane;
  readonly #log: Logger;
  /** What the kernel holds now: cidr → action. */
  readonly #applied = new Map<string, 'allow' | 'deny'>();
  #queue: Promise<void> = Promise.resolve();
  /** A deny range a ban also holds (bans.ts): dropping the rule must leave it in the kernel. */
  readonly #heldByBan: (cidr: string) => boolean;

  constructor(
    settings: Settings,
    dataplane: Dataplane,
    log: Logger,
    heldByBan: (cidr: string) => boolean = () => false,
  ) {
    this.#settings = settings;
    this.#dataplane = dataplane;
    this.#log = log;
    this.#heldByBan = heldByBan;
    settings.onChange((key) => {
      if (KEYS.has(key)) void this.apply();
    });
  }

  /** Brings the kernel in line with the settings (changes queued, one at a time). */
  apply(): Promise<void> {
    this.#queue = this.#queue
      .then(() => this.#sync())
      .catch((err: Error) => {
        this.#log.error({ err }, 'static firewall rules could not be applied');
      });
    return this.#queue;
  }

  async #sync(): Promise<void> {
    const wanted = new Map<string, 'allow' | 'deny'>();
    const rules = staticRules(this.#settings);
    for (const cidr of rules.deny) wanted.set(cidr, 'deny');
    for (const cidr of rules.allow) wanted.set(cidr, 'allow'); // allow wins, as in the kernel
    for (const [cidr, action] of this.#applied) {
      if (wanted.get(cidr) !== action) {
        // removeCidr clears the prefix from both kernel lists; a range ban keeps its deny.
        const held = this.#heldByBan(cidr);
        if (!(held && action === 'deny')) await this.#dataplane.removeCidr(cidr);
        if (held && action === 'allow') await this.#dataplane.denyCidr(cidr);
        this.#applied.delete(cidr);
      }
    }
    for (const [cidr, action] of wanted) {
      if (this.#applied.has(cidr)) continue;
      if (action === 'allow') await this.#dataplane.allowCidr(cidr);
      else await this.#dataplane.denyCidr(cidr);
      this.#applied.set(cidr, action);
    }
    this.#log.info(
      { allow: rules.allow.length, deny: rules.deny.length },
      'static firewall rules applied',
    );
  }
}
