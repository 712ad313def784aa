// src/dataplane/layout.ts is a hand-written mirror of bpf/tollgate.h. This test reads the
// compiled object's BTF (what the kernel and libbpf actually see) and fails on any drift:
// struct sizes, member offsets, enum values, map names, the program name.
import { execFileSync } from 'node:child_process';
import test from 'ava';
import {
  MAP_NAMES,
  MAX_SIG_PORTS,
  PROG_NAME,
  STRUCTS,
  TG_CIDR_HINT_BIT,
  TG_CONFIG_FLAG,
  TG_EVENT_TYPE,
  TG_MEDIA_FLAG,
  TG_REASON,
} from '../../src/dataplane/layout.ts';
import { buildBpfObject } from './helpers.ts';

interface BtfType {
  id: number;
  kind: string;
  name: string;
  attrs: string;
  lines: string[];
}

function parseRawBtf(text: string): BtfType[] {
  const types: BtfType[] = [];
  for (const line of text.split('\n')) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (head) {
      types.push({
        id: Number(head[1]),
        kind: head[2]!,
        name: head[3]!,
        attrs: head[4]!,
        lines: [],
      });
    } else if (line.startsWith('\t') && types.length > 0) {
      types[types.length - 1]!.lines.push(line.trim());
    }
  }
  return types;
}

let btf: BtfType[] = [];

test.before(() => {
  const object = buildBpfObject();
  btf = parseRawBtf(
    execFileSync('bpftool', ['btf', 'dump', 'file', object, 'format', 'raw'], { encoding: 'utf8' }),
  );
});

function find(kind: string, name: string): BtfType {
  const t = btf.find((x) => x.kind === kind && x.name === name);
  if (!t) throw new Error(`${kind} ${name} not in BTF`);
  return t;
}

for (const [name, layout] of Object.entries(STRUCTS)) {
  test(`struct ${name}: size and member offsets agree with BTF`, (t) => {
    const s = find('STRUCT', name);
    t.is(Number(/size=(\d+)/.exec(s.attrs)![1]), layout.size, 'size');
    const members: Record<string, number> = {};
    for (const line of s.lines) {
      const m = /^'(\w+)' type_id=\d+ bits_offset=(\d+)/.exec(line);
      if (m) members[m[1]!] = Number(m[2]) / 8;
    }
    t.deepEqual(members, layout.members);
  });
}

for (const [name, values] of [
  ['tg_reason', TG_REASON],
  ['tg_config_flag', TG_CONFIG_FLAG],
  ['tg_event_type', TG_EVENT_TYPE],
  ['tg_cidr_hint_bit', TG_CIDR_HINT_BIT],
  ['tg_media_flag', TG_MEDIA_FLAG],
] as const) {
  test(`enum ${name}: every value agrees with BTF`, (t) => {
    const e = find('ENUM', name);
    const got: Record<string, number> = {};
    for (const line of e.lines) {
      const m = /^'(\w+)' val=(-?\d+)/.exec(line);
      if (m) got[m[1]!] = Number(m[2]);
    }
    t.deepEqual(got, { ...values });
  });
}

test('map names agree with the .maps section', (t) => {
  const maps = find('DATASEC', '.maps')
    .lines.map((l) => /\(VAR '(\w+)'\)/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .sort();
  t.deepEqual(maps, Object.values(MAP_NAMES).sort());
});

test('the program and the signaling port array are the ones the loader expects', (t) => {
  t.truthy(find('FUNC', PROG_NAME));
  const config = find('STRUCT', 'tg_config');
  const sigPorts = /'sig_ports' type_id=(\d+)/.exec(config.lines.join('\n'))!;
  const array = btf.find((x) => x.id === Number(sigPorts[1]))!;
  t.is(array.kind, 'ARRAY');
  t.is(Number(/nr_elems=(\d+)/.exec(array.attrs)![1]), MAX_SIG_PORTS);
});

test('the parser would notice a missing struct', (t) => {
  t.throws(() => find('STRUCT', 'tg_no_such_struct'), { message: /not in BTF/ });
});

test('every contract struct in the object is mirrored', (t) => {
  const inObject = btf
    .filter((x) => x.kind === 'STRUCT' && x.name.startsWith('tg_') && x.name !== 'tg_contract')
    .map((x) => x.name)
    .sort();
  t.deepEqual(inObject, Object.keys(STRUCTS).sort());
});
