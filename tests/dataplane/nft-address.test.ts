// Address parsing for the nftables driver: it must agree with the product's one notion of
// a canonical address (src/ip.ts), or a ban could be stored under one spelling and looked
// up under another; and merged CIDR ranges must cover exactly what the prefixes cover.
import test from 'ava';
import fc from 'fast-check';
import { DEFAULT_SIP_TCP_PORTS } from '../../src/dataplane/nft.ts';
import { ipText, mergeRanges, parseCidr, parseIp } from '../../src/dataplane/nft-address.ts';
import { initCommands } from '../../src/dataplane/nft-ruleset.ts';
import { canonicalIp } from '../../src/ip.ts';

test('canonical text agrees with src/ip.ts for any IPv4 or IPv6 address', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (address) => {
      t.is(parseIp(address).text, canonicalIp(address) ?? 'not canonical');
    }),
    { numRuns: 2000 },
  );
  t.is(parseIp('::FFFF:192.0.2.1').text, '192.0.2.1', 'v4-mapped becomes v4');
  t.is(
    parseIp('2001:db8:0:0:1:0:0:1').text,
    '2001:db8::1:0:0:1',
    'RFC 5952 §4.2.3: first longest run',
  );
});

test('text round-trips through the numeric form', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (address) => {
      const ip = parseIp(address);
      t.is(ipText(ip.family, ip.value), ip.text);
    }),
  );
});

test('prefixes: host bits cleared, length bounded, garbage named in the error', (t) => {
  t.is(parseCidr('192.168.1.10/24').text, '192.168.1.0/24');
  t.is(parseCidr('2001:db8::1/32').text, '2001:db8::/32');
  t.is(parseCidr('10.0.0.1').text, '10.0.0.1/32');
  t.is(parseCidr('::/0').text, '::/0');
  for (const bad of [
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0.0/08',
    '10.0.0.0/+8',
    '::ffff:10.0.0.0/104',
    'x/8',
    '',
  ]) {
    t.throws(() => parseCidr(bad), { code: 'TG_NFT_BAD_CIDR' }, bad);
  }
  t.throws(() => parseIp('a'.repeat(10_000)), { code: 'TG_NFT_BAD_IP' });
  t.throws(() => parseIp(42), { code: 'TG_NFT_BAD_IP' });
});

test('merged ranges cover exactly the union of the prefixes, disjoint and in order', (t) => {
  const prefix = fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 16, max: 32 }))
    .map(([hi, len]) => parseCidr(`10.${hi >> 8}.${hi & 0xff}.0/${len}`));
  fc.assert(
    fc.property(
      fc.array(prefix, { maxLength: 30 }),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 50 }),
      (prefixes, probes) => {
        const ranges = mergeRanges(prefixes);
        for (let i = 1; i < ranges.length; i++) {
          const previous = ranges[i - 1];
          const current = ranges[i];
          t.true(
            previous !== undefined && current !== undefined && current.first > previous.last + 1n,
          );
        }
        for (const probe of probes) {
          const address = parseIp(`10.${probe >> 8}.${probe & 0xff}.7`).value;
          const inPrefixes = prefixes.some((p) => p.first <= address && address <= p.last);
          const inRanges = ranges.some((r) => r.first <= address && address <= r.last);
          t.is(inRanges, inPrefixes);
        }
      },
    ),
  );
});

test('the init batch first removes stale tollgate tables (add+delete), and only those', (t) => {
  const commands = initCommands({
    interfaces: [],
    sipTcpPorts: DEFAULT_SIP_TCP_PORTS,
    maxConnPerSource: 10,
    connTrackedSources: 1000,
  }) as Record<string, { table?: { family: string; name: string } }>[];
  t.deepEqual(commands.slice(0, 4), [
    { add: { table: { family: 'inet', name: 'tollgate' } } },
    { delete: { table: { family: 'inet', name: 'tollgate' } } },
    { add: { table: { family: 'netdev', name: 'tollgate' } } },
    { delete: { table: { family: 'netdev', name: 'tollgate' } } },
  ]);
  const text = JSON.stringify(commands);
  t.notRegex(text, /"flush":\{"ruleset"/, 'never flushes the whole ruleset');
  const tablesTouched = new Set([...text.matchAll(/"table":"([^"]+)"/g)].map((m) => m[1]));
  t.deepEqual([...tablesTouched], ['tollgate']);
});
