import test from 'ava';
import { canonicalIp, parseCidr } from '../src/ip.ts';

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
