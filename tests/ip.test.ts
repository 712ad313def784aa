import test from 'ava';
import { canonicalIp, cidrContains, parseCidr } from '../src/ip.ts';

test('addresses are canonicalised so one host has one spelling', (t) => {
  t.is(canonicalIp('2001:DB8:0:0::1'), '2001:db8::1');
  t.is(canonicalIp('::ffff:10.0.0.1'), '10.0.0.1');
  t.is(canonicalIp('10.0.0.1'), '10.0.0.1');
  t.is(canonicalIp('1.2.3.999'), null);
  t.is(canonicalIp('example.com'), null);
  t.is(canonicalIp(''), null);
});

test('CIDRs are parsed with their family and the prefix bounded', (t) => {
  t.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 4 });
  t.deepEqual(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 6 });
  t.deepEqual(parseCidr('10.0.0.1'), { address: '10.0.0.1', prefix: 32, family: 4 });
  t.is(parseCidr('10.0.0.0/33'), null);
  t.is(parseCidr('2001:db8::/129'), null);
  t.is(parseCidr('10.0.0.0/-1'), null);
  t.is(parseCidr('10.0.0.0/'), null);
});

test('CIDR membership for both families', (t) => {
  const v4 = parseCidr('10.1.0.0/16')!;
  t.true(cidrContains(v4, '10.1.255.3'));
  t.false(cidrContains(v4, '10.2.0.1'));
  t.false(cidrContains(v4, '2001:db8::1'));
  const v6 = parseCidr('2001:db8::/32')!;
  t.true(cidrContains(v6, '2001:db8:ffff::9'));
  t.false(cidrContains(v6, '2001:db9::1'));
  t.true(cidrContains(parseCidr('0.0.0.0/0')!, '203.0.113.9'));
  t.true(cidrContains(parseCidr('192.0.2.7')!, '192.0.2.7'));
  t.false(cidrContains(parseCidr('192.0.2.7')!, '192.0.2.8'));
});

test('dotted IPv4 in canonical form comes back as is; other spellings take the general path', (t) => {
  for (const ip of ['0.0.0.0', '127.0.0.1', '255.255.255.255', '192.0.2.10', '10.0.0.100']) {
    t.is(canonicalIp(ip), ip);
  }
  for (const bad of [
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.04',
    '1.2.3.256',
    '1..3.4',
    '.1.2.3',
  ]) {
    t.is(canonicalIp(bad), null, bad);
  }
  for (const bad of ['1.2.3.4.', '1.2.3.1000', '1.2.3.+4', ' 1.2.3.4', '1.2.3.4 ']) {
    t.is(canonicalIp(bad), null, bad);
  }
  t.is(canonicalIp('::ffff:192.0.2.10'), '192.0.2.10');
  t.is(canonicalIp('::FFFF:c000:20a'), '192.0.2.10');
});
