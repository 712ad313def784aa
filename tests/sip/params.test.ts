import test from 'ava';
import { parseAuthFields } from '../../src/sip/message/auth.ts';
import { NO_PARAMS, parseParams } from '../../src/sip/message/value-scan.ts';

function params(text: string): ReadonlyMap<string, string | null> {
  const r = parseParams(text, 0, text.length);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

test('parameters read like a Map: get, has, size, order, iteration', (t) => {
  const p = params(';branch=z9hG4bK1;RPORT;received=10.0.0.1');
  t.is(p.size, 3);
  t.is(p.get('branch'), 'z9hG4bK1');
  t.is(p.get('rport'), null);
  t.true(p.has('rport'));
  t.false(p.has('ttl'));
  t.is(p.get('ttl'), undefined);
  t.deepEqual(
    [...p],
    [
      ['branch', 'z9hG4bK1'],
      ['rport', null],
      ['received', '10.0.0.1'],
    ],
  );
  t.deepEqual([...p.keys()], ['branch', 'rport', 'received']);
  t.deepEqual([...p.values()], ['z9hG4bK1', null, '10.0.0.1']);
  t.deepEqual([...p.entries()], [...p]);
  const seen: string[] = [];
  p.forEach((v, k, map) => {
    seen.push(`${k}=${v}`);
    t.is(map, p);
  });
  t.deepEqual(seen, ['branch=z9hG4bK1', 'rport=null', 'received=10.0.0.1']);
  t.is(params(''), NO_PARAMS);
  // Separators inside quoted values only make the room reserved larger.
  const q = params(';a="x;y;z";b');
  t.is(q.size, 2);
  t.is(q.get('a'), 'x;y;z');
  t.is(q.get('b'), null);
});

test('a duplicate parameter is refused, in short and in long lists', (t) => {
  t.is(parseParams(';a=1;b;A=2', 0, 10), 'duplicate parameter a');
  const many = Array.from({ length: 40 }, (_, k) => `;p${k}=${k}`).join('');
  const p = params(many);
  t.is(p.size, 40);
  t.is(p.get('p0'), '0');
  t.is(p.get('p39'), '39');
  t.deepEqual(
    [...p.keys()],
    Array.from({ length: 40 }, (_, k) => `p${k}`),
  );
  for (const dup of ['p3', 'p20', 'p39']) {
    const text = `${many};${dup}=x`;
    t.is(parseParams(text, 0, text.length), `duplicate parameter ${dup}`);
  }
});

test('Digest parameters: every one readable, duplicates refused', (t) => {
  const r = parseAuthFields([
    'Digest username="alice",realm="x",nonce="n",uri="sip:x",response="r",algorithm=MD5,cnonce="c",qop=auth,nc=00000001',
  ]);
  if (!r.ok) return t.fail(r.detail);
  const p = r.value[0]!.params;
  t.is(p.size, 9);
  t.is(p.get('username'), 'alice');
  t.is(p.get('nc'), '00000001');
  t.is(p.get('opaque'), undefined);
  const dup = parseAuthFields(['Digest username="a", realm="x", Username="b"']);
  t.false(dup.ok);
  if (!dup.ok) t.is(dup.detail, 'duplicate auth parameter username');
  const long = Array.from({ length: 30 }, (_, k) => `x${k}=${k}`).join(',');
  const lr = parseAuthFields([`Digest ${long}`]);
  t.true(lr.ok && lr.value[0]!.params.get('x29') === '29');
  t.false(parseAuthFields([`Digest ${long},x7=again`]).ok);
});
