// rtpengine's ng control protocol (UDP; "<cookie> <bencoded dict>", reply "<cookie> <dict>")
// for bench/media, run in the generator's namespace: N calls set up with offer + answer
// (caller SDP at caller ip:port, callee SDP at callee ip:port), printing the ports rtpengine
// gave the caller side (where the caller's RTP goes), or deleting them again.
//   node ng-calls.ts '{"ng":"10.250.0.1:2223","op":"setup","n":1000,"base":0,...}'
import { NgClient, type NgDict } from '../common/ng.ts';

const cfg = JSON.parse(process.argv.at(-1) ?? '{}') as {
  ng: string;
  op: 'setup' | 'delete';
  n: number;
  base: number;
  caller: { ip: string; port: number };
  callee: { ip: string; port: number };
};
const client = new NgClient(cfg.ng);

/** A command whose result must be ok. */
async function ng(cmd: NgDict): Promise<NgDict> {
  const reply = await client.request(cmd);
  if (reply.result !== 'ok') throw new Error(`ng ${cmd.command}: ${JSON.stringify(reply)}`);
  return reply;
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
  client.close();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
