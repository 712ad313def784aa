// Which interfaces are protected and why, without a kernel: the pure rules of
// src/dataplane/interface-plan.ts over link lists as `ip -j -d address` gives them.
import test from 'ava';
import { compilePattern, planInterfaces } from '../../src/dataplane/interface-plan.ts';
import { type LinkInfo, parseLinks } from '../../src/dataplane/links.ts';

const link = (name: string, extra: Partial<LinkInfo> = {}): LinkInfo => ({
  name,
  ifindex: name.length,
  loopback: false,
  up: true,
  kind: '',
  master: null,
  addresses: [],
  ...extra,
});

const LINKS = [
  link('lo', { loopback: true, addresses: ['127.0.0.1'] }),
  link('eth0', { addresses: ['192.0.2.1'] }),
  link('br0', { kind: 'bridge', addresses: ['10.0.0.1'] }),
  link('veth0', { kind: 'veth', master: 'br0' }),
  link('vx0', { kind: 'vxlan', master: 'br0' }),
  link('bond0', { kind: 'bond', master: 'br1' }),
  link('br1', { kind: 'bridge' }),
  link('eth1', { master: 'bond0' }),
  link('docker0', { kind: 'bridge' }),
];

const planOf = (sipAddress: string, include: string[] = [], exclude: string[] = []) =>
  Object.fromEntries(
    planInterfaces(LINKS, { sipAddress, include, exclude }).map((p) => [
      p.name,
      `${p.protect ? '+' : '-'} ${p.reason}`,
    ]),
  );

test('wildcard address: every leaf interface, masters send it to their ports', (t) => {
  const p = planOf('0.0.0.0');
  t.is(p.lo, '- loopback');
  t.regex(p.eth0 ?? '', /^\+ /);
  t.is(p.br0, '- bridge: XDP goes on its ports (veth0, vx0)');
  t.regex(p.veth0 ?? '', /^\+ port of br0/);
  t.is(p.bond0, '- bond: XDP goes on its ports (eth1)');
  t.regex(p.eth1 ?? '', /^\+ port of br1/, 'a port of a bond in a bridge');
  t.is(p.docker0, '- bridge without ports');
});

test('a specific address: the interfaces holding it, and the ports of a bridge holding it', (t) => {
  const p = planOf('10.0.0.1');
  t.is(p.eth0, '- does not carry sipaddress 10.0.0.1');
  t.is(p.veth0, '+ port of br0, carries 10.0.0.1');
  t.is(p.vx0, '+ port of br0, carries 10.0.0.1');
  t.is(p.eth1, '- does not carry sipaddress 10.0.0.1');
  t.is(planOf('192.0.2.1').eth0, '+ carries 192.0.2.1');
  t.is(Object.values(planOf('127.0.0.1')).filter((x) => x.startsWith('+')).length, 0);
});

test('include and exclude patterns; exclude wins, and excluding a bridge excludes its ports', (t) => {
  const p = planOf('0.0.0.0', ['eth*', 'br0'], ['vx?']);
  t.is(p.eth0, '+ matches dataplaneinterfaces "eth*"');
  t.is(p.veth0, '+ port of br0, matches dataplaneinterfaces "br0"');
  t.is(p.vx0, '- excluded by dataplaneexclude "vx?"');
  t.is(planOf('0.0.0.0', [], ['br0']).veth0, '- port of br0, excluded by dataplaneexclude "br0"');
  t.is(planOf('0.0.0.0', ['eth0']).veth0, '- not matched by dataplaneinterfaces');
});

test('patterns are checked: only interface-name characters and * ?', (t) => {
  t.true(compilePattern('eth*').test('eth12'));
  t.false(compilePattern('eth?').test('eth12'));
  t.false(compilePattern('br.0').test('brx0'), 'a dot is a dot');
  for (const bad of ['', 'eth0/1', 'a b', 'x'.repeat(16), 'eth[0]'])
    t.throws(() => compilePattern(bad), { code: 'TG_DP_BAD_PATTERN' }, bad);
});

test('parseLinks reads ip -j -d address output', (t) => {
  const links = parseLinks(
    JSON.stringify([
      { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ local: '127.0.0.1' }] },
      {
        ifindex: 4,
        ifname: 'p1',
        flags: ['BROADCAST'],
        master: 'br0',
        linkinfo: { info_kind: 'veth' },
      },
      { ifname: 'no-index' },
    ]),
  );
  t.deepEqual(links, [
    {
      name: 'lo',
      ifindex: 1,
      loopback: true,
      up: true,
      kind: '',
      master: null,
      addresses: ['127.0.0.1'],
    },
    {
      name: 'p1',
      ifindex: 4,
      loopback: false,
      up: false,
      kind: 'veth',
      master: 'br0',
      addresses: [],
    },
  ]);
});
