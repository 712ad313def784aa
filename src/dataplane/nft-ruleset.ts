// The tollgate nftables ruleset, as nft JSON commands (libnftables-json(5)). Pure functions:
// they only build documents; nft-runner.ts applies them.
//
// What init() installs (the netdev table only when interfaces are given):
//
//   table inet tollgate
//     set banned_v4/_v6   flags timeout      bans, element timeout = ban ttl, comment = reason
//     set allow_v4/_v6    flags interval     allow-listed CIDRs (win over deny and ban)
//     set deny_v4/_v6     flags interval     static firewall
//     set trusted_v4/_v6  flags timeout      registered endpoints, trunks: no connection cap
//     set sip_tcp_ports                      TCP/TLS signaling ports under the connection cap
//     set conn_v4/_v6     flags dynamic      per-source conntrack counts (ct count)
//     chain guard       prerouting, priority raw (-300): before conntrack, so a banned flood
//                       never creates conntrack state           (only without netdev table)
//     chain conn_limit  input, priority filter - 10: runs after conntrack, before any filter
//                       chain of the host
//   table netdev tollgate
//     chain guard_<if>  ingress on interface <if>, the earliest hook nftables has
//
// Each guard chain: allowed → accept, cidr_deny → drop, banned → drop, then the media relay's
// source filter (mode nft; types.ts RelayLeg), then passed:
//     udp dport . saddr . udp sport @relay_peer_v4/_v6 → accept   a leg's peer
//     udp dport @relay_open                         → accept   leg not latched / any source
//     udp dport @relay_strict   → rtp_source      → drop     a latched leg, another source
//     udp dport @media_gate     → rtp_unallocated → drop     in the range, no leg
// The relay sets keep a counter per element (per port), which relayCounters() reads. The
// named counters `allowed`, `cidr_deny`, `banned`, `rtp_source`, `rtp_unallocated`,
// `passed` (guard table) and `conn_limit` (inet) are what stats() reads.

export const TABLE_NAME = 'tollgate';

export type TableFamily = 'inet' | 'netdev';

export const COUNTERS = {
  allowed: 'allowed',
  cidrDeny: 'cidr_deny',
  banned: 'banned',
  passed: 'passed',
  connLimit: 'conn_limit',
  rtpSource: 'rtp_source',
  rtpUnallocated: 'rtp_unallocated',
} as const;

/** The media relay's sets (guard table). */
export const RELAY_SETS = {
  peerV4: 'relay_peer_v4',
  peerV6: 'relay_peer_v6',
  open: 'relay_open',
  strict: 'relay_strict',
  gate: 'media_gate',
} as const;

export type AddressFamily = 'v4' | 'v6';

export type SetKind = 'banned' | 'allow' | 'deny' | 'trusted' | 'conn';

export const setName = (kind: SetKind, family: AddressFamily): string => `${kind}_${family}`;

export interface RulesetOptions {
  /** Hook a netdev ingress chain on each of these; empty = inet prerouting for all. */
  interfaces: readonly string[];
  sipTcpPorts: readonly number[];
  maxConnPerSource: number;
  /** Upper bound of tracked sources per family in the connection-count set. */
  connTrackedSources: number;
  /** Force the guard's table (netdev even with no interface yet); default from interfaces. */
  guard?: TableFamily;
}

const FAMILIES: readonly AddressFamily[] = ['v4', 'v6'];
const PROTOCOL = { v4: 'ip', v6: 'ip6' } as const;
const TYPE = { v4: 'ipv4_addr', v6: 'ipv6_addr' } as const;

/** Where bans, allow and deny CIDRs are enforced: netdev ingress when interfaces are given. */
export const guardFamily = (interfaces: readonly string[]): TableFamily =>
  interfaces.length > 0 ? 'netdev' : 'inet';

/** The ingress chain guarding one interface (named after it, so it can be found again). */
export const ingressChainName = (dev: string): string => `guard_${dev}`;

/**
 * The netdev ingress chain for one interface and its rules. nft 1.0.6's JSON parser takes
 * one device per chain, so one chain per interface; chains are added and removed as
 * interfaces come and go. Since Linux 6.x a chain outlives its device and hooks onto a
 * device of that name when it appears.
 */
export function addIngressChain(dev: string): object[] {
  const chain = ingressChainName(dev);
  return [
    {
      add: {
        chain: {
          family: 'netdev',
          table: TABLE_NAME,
          name: chain,
          type: 'filter',
          hook: 'ingress',
          prio: -500,
          dev,
          policy: 'accept',
        },
      },
    },
    ...guardRules('netdev', chain),
  ];
}

export function deleteIngressChain(dev: string): object[] {
  return [
    { delete: { chain: { family: 'netdev', table: TABLE_NAME, name: ingressChainName(dev) } } },
  ];
}

const table = (family: TableFamily) => ({ family, name: TABLE_NAME });

const saddrIn = (family: AddressFamily, set: string) => ({
  match: {
    op: '==',
    left: { payload: { protocol: PROTOCOL[family], field: 'saddr' } },
    right: `@${set}`,
  },
});

function addSet(tableFamily: TableFamily, kind: SetKind, family: AddressFamily, extra: object) {
  return {
    add: {
      set: {
        family: tableFamily,
        table: TABLE_NAME,
        name: setName(kind, family),
        type: TYPE[family],
        ...extra,
      },
    },
  };
}

const addCounter = (family: TableFamily, name: string) => ({
  add: { counter: { family, table: TABLE_NAME, name } },
});

const addRule = (family: TableFamily, chain: string, expr: object[]) => ({
  add: { rule: { family, table: TABLE_NAME, chain, expr } },
});

/** "add then delete" makes the delete safe when the object does not exist yet. */
export function deleteTableCommands(family: TableFamily): object[] {
  return [{ add: { table: table(family) } }, { delete: { table: table(family) } }];
}

function guardRules(family: TableFamily, chain: string): object[] {
  const rules: object[] = [];
  for (const f of FAMILIES) {
    rules.push(
      addRule(family, chain, [
        saddrIn(f, setName('allow', f)),
        { counter: COUNTERS.allowed },
        { accept: null },
      ]),
    );
  }
  for (const f of FAMILIES) {
    rules.push(
      addRule(family, chain, [
        saddrIn(f, setName('deny', f)),
        { counter: COUNTERS.cidrDeny },
        { drop: null },
      ]),
    );
  }
  for (const f of FAMILIES) {
    rules.push(
      addRule(family, chain, [
        saddrIn(f, setName('banned', f)),
        { counter: COUNTERS.banned },
        { drop: null },
      ]),
    );
  }
  rules.push(...relayRules(family, chain));
  rules.push(addRule(family, chain, [{ counter: COUNTERS.passed }]));
  return rules;
}

const udpPort = (field: 'sport' | 'dport') => ({ payload: { protocol: 'udp', field } });
const dportIn = (set: string) => ({
  match: { op: '==', left: udpPort('dport'), right: `@${set}` },
});

function relayRules(family: TableFamily, chain: string): object[] {
  const rules: object[] = [];
  for (const f of FAMILIES) {
    const key = {
      concat: [
        udpPort('dport'),
        { payload: { protocol: PROTOCOL[f], field: 'saddr' } },
        udpPort('sport'),
      ],
    };
    const set = f === 'v4' ? RELAY_SETS.peerV4 : RELAY_SETS.peerV6;
    rules.push(
      addRule(family, chain, [
        { match: { op: '==', left: key, right: `@${set}` } },
        { accept: null },
      ]),
    );
  }
  rules.push(addRule(family, chain, [dportIn(RELAY_SETS.open), { accept: null }]));
  rules.push(
    addRule(family, chain, [
      dportIn(RELAY_SETS.strict),
      { counter: COUNTERS.rtpSource },
      { drop: null },
    ]),
  );
  rules.push(
    addRule(family, chain, [
      dportIn(RELAY_SETS.gate),
      { counter: COUNTERS.rtpUnallocated },
      { drop: null },
    ]),
  );
  return rules;
}

function relaySets(family: TableFamily): object[] {
  const set = (name: string, type: string | string[], extra: object = {}) => ({
    add: { set: { family, table: TABLE_NAME, name, type, ...extra } },
  });
  const counted = { stmt: [{ counter: null }] };
  return [
    set(RELAY_SETS.peerV4, ['inet_service', 'ipv4_addr', 'inet_service'], counted),
    set(RELAY_SETS.peerV6, ['inet_service', 'ipv6_addr', 'inet_service'], counted),
    set(RELAY_SETS.open, 'inet_service', counted),
    set(RELAY_SETS.strict, 'inet_service', counted),
    set(RELAY_SETS.gate, 'inet_service', { flags: ['interval'] }),
    addCounter(family, COUNTERS.rtpSource),
    addCounter(family, COUNTERS.rtpUnallocated),
  ];
}

function guardSetsAndCounters(family: TableFamily): object[] {
  const out: object[] = [];
  for (const f of FAMILIES) {
    out.push(addSet(family, 'banned', f, { flags: ['timeout'] }));
    out.push(addSet(family, 'allow', f, { flags: ['interval'] }));
    out.push(addSet(family, 'deny', f, { flags: ['interval'] }));
  }
  for (const name of [COUNTERS.allowed, COUNTERS.cidrDeny, COUNTERS.banned, COUNTERS.passed]) {
    out.push(addCounter(family, name));
  }
  out.push(...relaySets(family));
  return out;
}

/**
 * One batch that removes whatever tollgate tables exist (a crash leaves them behind) and
 * builds the ruleset afresh, so a restart replaces rather than duplicates.
 */
export function initCommands(options: RulesetOptions): object[] {
  const guard = options.guard ?? guardFamily(options.interfaces);
  const out: object[] = [...deleteTableCommands('inet'), ...deleteTableCommands('netdev')];

  out.push({ add: { table: table('inet') } });
  if (guard === 'inet') {
    out.push(...guardSetsAndCounters('inet'));
  } else {
    out.push({ add: { table: table('netdev') } });
    out.push(...guardSetsAndCounters('netdev'));
    // The connection cap lives in inet (it needs conntrack) and exempts allow-listed
    // sources too, so the allow sets exist in both tables and are written together.
    for (const f of FAMILIES) out.push(addSet('inet', 'allow', f, { flags: ['interval'] }));
  }
  for (const f of FAMILIES) {
    out.push(addSet('inet', 'trusted', f, { flags: ['timeout'] }));
    out.push(addSet('inet', 'conn', f, { size: options.connTrackedSources }));
  }
  out.push({
    add: {
      set: {
        family: 'inet',
        table: TABLE_NAME,
        name: 'sip_tcp_ports',
        type: 'inet_service',
        ...(options.sipTcpPorts.length > 0 ? { elem: [...options.sipTcpPorts] } : {}),
      },
    },
  });
  out.push(addCounter('inet', COUNTERS.connLimit));

  if (guard === 'inet') {
    out.push({
      add: {
        chain: {
          family: 'inet',
          table: TABLE_NAME,
          name: 'guard',
          type: 'filter',
          hook: 'prerouting',
          prio: -300,
          policy: 'accept',
        },
      },
    });
    out.push(...guardRules('inet', 'guard'));
  } else {
    for (const dev of options.interfaces) out.push(...addIngressChain(dev));
  }

  out.push({
    add: {
      chain: {
        family: 'inet',
        table: TABLE_NAME,
        name: 'conn_limit',
        type: 'filter',
        hook: 'input',
        prio: -10,
        policy: 'accept',
      },
    },
  });
  for (const f of FAMILIES) {
    out.push(addRule('inet', 'conn_limit', [saddrIn(f, setName('allow', f)), { accept: null }]));
    out.push(addRule('inet', 'conn_limit', [saddrIn(f, setName('trusted', f)), { accept: null }]));
  }
  for (const f of FAMILIES) {
    // conntrack counts the new connection before comparing, so "over N" refuses the N+1th.
    // A TCP reset (not a silent drop) tells a legitimate client at once that it is over cap.
    out.push(
      addRule('inet', 'conn_limit', [
        { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
        {
          match: {
            op: '==',
            left: { payload: { protocol: 'tcp', field: 'dport' } },
            right: '@sip_tcp_ports',
          },
        },
        {
          set: {
            op: 'add',
            elem: { payload: { protocol: PROTOCOL[f], field: 'saddr' } },
            set: `@${setName('conn', f)}`,
            stmt: [{ 'ct count': { val: options.maxConnPerSource, inv: true } }],
          },
        },
        { counter: COUNTERS.connLimit },
        { reject: { type: 'tcp reset' } },
      ]),
    );
  }
  return out;
}

export interface SetRef {
  family: TableFamily;
  name: string;
}

export type SetElement =
  | string
  | number
  | { range: [string, string] | [number, number] }
  | { concat: (string | number)[] }
  | { elem: { val: string; timeout?: number; comment?: string } };

export const addElements = (set: SetRef, elem: SetElement[]) => ({
  add: { element: { family: set.family, table: TABLE_NAME, name: set.name, elem } },
});

export const deleteElements = (set: SetRef, elem: SetElement[]) => ({
  delete: { element: { family: set.family, table: TABLE_NAME, name: set.name, elem } },
});

export const flushSet = (set: SetRef) => ({
  flush: { set: { family: set.family, table: TABLE_NAME, name: set.name } },
});
