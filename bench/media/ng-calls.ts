// rtpengine's ng control protocol (UDP; "<cookie> <bencoded dict>", reply "<cookie> <dict>")
// for bench/media, run in the generator's namespace: N calls set up with offer + answer
// (caller SDP at caller ip:port, callee SDP at callee ip:port), printing the ports rtpengine
// gave the caller side (where the caller's RTP goes), or deleting them again.
//   node ng-calls.ts '{"ng":"10.250.0.1:2223","op":"setup","n":1000,"base":0,...}'
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

/** rtpengine answers a cookie it has seen from its cache: never reuse one across runs. */
const COOKIE_PREFIX = randomBytes(6).toString('hex');

type B = string | number | B[] | { [k: string]: B };

function encode(v: B): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${v}e`);
  if (typeof v === 'string')
    return Buffer.concat([Buffer.from(`${Buffer.byteLength(v)}:`), Buffer.from(v)]);
  if (Array.isArray(v))
    return Buffer.concat([Buffer.from('l'), ...v.map(encode), Buffer.from('e')]);
  const keys = Object.keys(v).sort();
  return Buffer.concat([
    Buffer.from('d'),
    ...keys.flatMap((k) => [encode(k), encode(v[k]!)]),
    Buffer.from('e'),
  ]);
}

function decode(buf: Buffer, at = 0): [B, number] {
  const c = String.fromCharCode(buf[at]!);
  if (c === 'i') {
    const end = buf.indexOf(0x65, at);
    return [Number(buf.subarray(at + 1, end).toString()), end + 1];
  }
  if (c === 'l' || c === 'd') {
    const list: B[] = [];
    let i = at + 1;
    while (buf[i] !== 0x65) {
      const [v, next] = decode(buf, i);
      list.push(v);
      i = next;
    }
    if (c === 'l') return [list, i + 1];
    const dict: Record<string, B> = {};
    for (let k = 0; k < list.length; k += 2) dict[list[k] as string] = list[k + 1]!;
    return [dict, i + 1];
  }
  const colon = buf.indexOf(0x3a, at);
  const len = Number(buf.subarray(at, colon).toString());
  return [buf.subarray(colon + 1, colon + 1 + len).toString(), colon + 1 + len];
}

const cfg = JSON.parse(process.argv.at(-1) ?? '{}') as {
  ng: string;
  op: 'setup' | 'delete';
  n: number;
  base: number;
  caller: { ip: string; port: number };
  callee: { ip: string; port: number };
};
const [ngHost, ngPort] = [
  cfg.ng.slice(0, cfg.ng.lastIndexOf(':')),
  Number(cfg.ng.slice(cfg.ng.lastIndexOf(':') + 1)),
];
const sock = dgram.createSocket('udp4');
const pending = new Map<string, (d: Record<string, B>) => void>();
let cookieSeq = 0;
sock.on('message', (m) => {
  const space = m.indexOf(0x20);
  const cookie = m.subarray(0, space).toString();
  const [reply] = decode(m, space + 1);
  pending.get(cookie)?.(reply as Record<string, B>);
  pending.delete(cookie);
});

function ng(cmd: Record<string, B>): Promise<Record<string, B>> {
  const cookie = `${COOKIE_PREFIX}x${cookieSeq++}`;
  const wire = Buffer.concat([Buffer.from(`${cookie} `), encode(cmd)]);
  return new Promise((resolve, reject) => {
    // UDP: resent each second until answered; rtpengine replays its answer to a cookie it
    // has seen instead of running the command twice (that is what the cookie is for).
    let tries = 0;
    const resend = setInterval(() => {
      if (++tries >= 20) {
        clearInterval(resend);
        pending.delete(cookie);
        reject(new Error(`ng ${cmd.command}: no reply in 20 s`));
        return;
      }
      sock.send(wire, ngPort, ngHost);
    }, 1000);
    pending.set(cookie, (d) => {
      clearInterval(resend);
      if (d.result !== 'ok') reject(new Error(`ng ${cmd.command}: ${JSON.stringify(d)}`));
      else resolve(d);
    });
    sock.send(wire, ngPort, ngHost);
  });
}

function sdp(ip: string, port: number): string {
  return [
    'v=0',
    `o=- 1 1 IN IP4 ${ip}`,
    's=bench',
    `c=IN IP4 ${ip}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0`,
    'a=rtpmap:0 PCMU/8000',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

async function main(): Promise<void> {
  const ports: number[] = [];
  const WINDOW = 32;
  for (let start = 0; start < cfg.n; start += WINDOW) {
    const batch = [];
    for (let i = start; i < Math.min(cfg.n, start + WINDOW); i++) {
      const id = `bench-${cfg.base + i}`;
      if (cfg.op === 'delete') {
        batch.push(ng({ command: 'delete', 'call-id': id, 'from-tag': 'f' }).then(() => 0));
        continue;
      }
      batch.push(
        (async () => {
          await ng({
            command: 'offer',
            'call-id': id,
            'from-tag': 'f',
            sdp: sdp(cfg.caller.ip, cfg.caller.port),
          });
          const answer = await ng({
            command: 'answer',
            'call-id': id,
            'from-tag': 'f',
            'to-tag': 't',
            sdp: sdp(cfg.callee.ip, cfg.callee.port),
          });
          const m = /m=audio (\d+)/.exec(String(answer.sdp));
          if (!m) throw new Error(`no m= line in the answer: ${String(answer.sdp)}`);
          return Number(m[1]);
        })(),
      );
    }
    ports.push(...(await Promise.all(batch)));
  }
  process.stdout.write(`${JSON.stringify({ ports: cfg.op === 'setup' ? ports : [] })}\n`);
  sock.close();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
