// tollgate's kernel relay for bench/media, run inside the relay namespace: loads the XDP
// program, attaches it natively to the relay's interface and programs N relay legs on
// request (caller ip:port -> relay port -> callee ip:port), exactly through the dataplane
// API the media relay uses (XdpDataplane.openRelay). JSON lines on stdin / stdout:
//   {"cmd":"open","n":1000,...}  -> {"ports":[20000,20002,...]}
//   {"cmd":"close"}              -> {"forwarded":N,"dropped":N}
import { createInterface } from 'node:readline';
import { XdpDataplane } from '../../src/dataplane/xdp-dataplane.ts';
import { XdpGuard } from '../../src/dataplane/xdp-guard.ts';

const { ifname, range } = JSON.parse(process.argv.at(-1) ?? '{}') as {
  ifname: string;
  range: { min: number; max: number };
};
const guard = XdpGuard.load();
const dp = new XdpDataplane(guard);
guard.configure({ mediaPorts: range, checkRtpAddr: true, signalingPorts: [5060] });
const mode = guard.attach(ifname, 'native');
let open: number[] = [];

interface OpenCmd {
  cmd: 'open';
  n: number;
  relayIp: string;
  caller: { ip: string; port: number };
  callee: { ip: string; port: number };
}

createInterface({ input: process.stdin })
  .on('line', async (text) => {
    const msg = JSON.parse(text) as OpenCmd | { cmd: 'close' };
    if (msg.cmd === 'open') {
      open = [];
      for (let i = 0; i < msg.n; i++) {
        const port = range.min + 2 * i;
        await dp.openRelay({
          localPort: port,
          expectedPeer: msg.caller,
          forwardTo: msg.callee,
          forwardFrom: { ip: msg.relayIp, port: port + 1 },
        });
        open.push(port);
      }
      process.stdout.write(`${JSON.stringify({ ports: open })}\n`);
    } else {
      let forwarded = 0;
      let dropped = 0;
      for (const port of open) {
        const c = await dp.closeRelay(port);
        forwarded += c?.forwardedPackets ?? 0;
        dropped += c?.droppedPackets ?? 0;
      }
      open = [];
      const c = guard.counters();
      const kernel = Object.fromEntries(
        Object.entries(c)
          .filter(([, v]) => v.packets > 0n)
          .map(([k, v]) => [k, Number(v.packets)]),
      );
      process.stdout.write(`${JSON.stringify({ forwarded, dropped, kernel })}\n`);
    }
  })
  .on('close', () => {
    guard.close();
    process.exit(0);
  });
process.stdout.write(`${JSON.stringify({ ready: true, mode })}\n`);
