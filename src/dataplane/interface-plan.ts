// Which interfaces the dataplane protects, and why each other one is not: a pure function
// of the links the kernel lists now (links.ts) and the config, so the reconcile loop can
// recompute it every tick and a test can check it without a kernel.
//
// Rules, in order:
//   loopback                         never (local traffic)
//   matches dataplaneexclude         never; a bridge/bond excluded excludes its ports too
//   a bridge, bond or team           not itself: XDP goes on its ports (the lower devices),
//                                    where native XDP works; the kernel refuses a program on
//                                    a port once its upper device has one, and generic XDP
//                                    on a bridge sees only what the bridge passes up
//   dataplaneinterfaces set          protected if it, or a bridge/bond above it, matches
//   dataplaneinterfaces empty        protected if sipaddress is a wildcard, or it or a
//                                    bridge/bond above it holds sipaddress
// Patterns are interface names with * and ? as wildcards ("veth*", "eth?").
import { DataplaneErrors as E } from './errors.ts';
import type { LinkInfo } from './links.ts';

export interface InterfaceSelection {
  sipAddress: string;
  include: readonly string[];
  exclude: readonly string[];
}

export interface PlannedInterface {
  name: string;
  ifindex: number;
  up: boolean;
  protect: boolean;
  reason: string;
}

const MASTER_KINDS = new Set(['bridge', 'bond', 'team']);
/** Bridges of bonds of ... : more levels than this is a loop or a mistake. */
const MAX_DEPTH = 8;

export function compilePattern(pattern: string): RegExp {
  if (!/^[A-Za-z0-9_.:@*?-]{1,15}$/.test(pattern)) throw new E.TG_DP_BAD_PATTERN(pattern);
  const body = pattern.replace(/[.*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : '\\.'));
  return new RegExp(`^${body}$`);
}

function firstMatch(name: string, patterns: readonly [string, RegExp][]): string | undefined {
  return patterns.find(([, re]) => re.test(name))?.[0];
}

export function planInterfaces(
  links: readonly LinkInfo[],
  selection: InterfaceSelection,
): PlannedInterface[] {
  const include = selection.include.map((p) => [p, compilePattern(p)] as [string, RegExp]);
  const exclude = selection.exclude.map((p) => [p, compilePattern(p)] as [string, RegExp]);
  const wildcard = selection.sipAddress === '0.0.0.0' || selection.sipAddress === '::';
  const byName = new Map(links.map((l) => [l.name, l]));
  const ports = new Map<string, string[]>();
  for (const l of links) {
    if (l.master !== null) ports.set(l.master, [...(ports.get(l.master) ?? []), l.name]);
  }
  /** The link and the bridges/bonds above it, nearest first. */
  const chain = (l: LinkInfo): LinkInfo[] => {
    const out = [l];
    for (let up = l.master; up !== null && out.length <= MAX_DEPTH; ) {
      const m = byName.get(up);
      if (m === undefined || out.includes(m)) break;
      out.push(m);
      up = m.master;
    }
    return out;
  };

  return links.map((l) => {
    const entry = (protect: boolean, reason: string): PlannedInterface => ({
      name: l.name,
      ifindex: l.ifindex,
      up: l.up,
      protect,
      reason,
    });
    if (l.loopback) return entry(false, 'loopback');
    const above = chain(l);
    for (const link of above) {
      const p = firstMatch(link.name, exclude);
      if (p !== undefined)
        return entry(
          false,
          link === l
            ? `excluded by dataplaneexclude "${p}"`
            : `port of ${link.name}, excluded by dataplaneexclude "${p}"`,
        );
    }
    const lower = ports.get(l.name) ?? [];
    if (MASTER_KINDS.has(l.kind) || lower.length > 0) {
      const kind = l.kind || 'master';
      return entry(
        false,
        lower.length > 0
          ? `${kind}: XDP goes on its ports (${lower.sort().join(', ')})`
          : `${kind} without ports`,
      );
    }
    const via = (link: LinkInfo) => (link === l ? '' : `port of ${link.name}, `);
    if (include.length > 0) {
      for (const link of above) {
        const p = firstMatch(link.name, include);
        if (p !== undefined) return entry(true, `${via(link)}matches dataplaneinterfaces "${p}"`);
      }
      return entry(false, 'not matched by dataplaneinterfaces');
    }
    if (wildcard) {
      const top = above.at(-1) ?? l;
      return entry(true, `${via(top)}sipaddress ${selection.sipAddress} is every interface`);
    }
    for (const link of above) {
      if (link.addresses.includes(selection.sipAddress))
        return entry(true, `${via(link)}carries ${selection.sipAddress}`);
    }
    return entry(false, `does not carry sipaddress ${selection.sipAddress}`);
  });
}
