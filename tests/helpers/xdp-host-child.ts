// The far end of tests/helpers/xdp-host.ts: runs inside a network namespace (started with
// `ip netns exec NS node xdp-host-child.ts CONFIG`), loads the real XDP guard, attaches it to
// an interface of that namespace and serves the parent's calls as JSON lines:
//   parent → child   {"id":1,"method":"ban","args":["10.0.0.1",60,"test"]}
//   child → parent   {"id":1,"ok":true,"result":null}  |  {"id":1,"ok":false,"error":{...}}
//                    {"event":"flood","ip":"10.0.0.1","packets":1,"at":...}   (unsolicited)
// Why a child at all: an interface index means something only in its own namespace, and a
// process cannot move its libuv threads into another one, so the guard lives where the
// interface is, as the daemon would when started inside that namespace.
// stdin closing (the parent exited or closed it) detaches the program and exits.
import { createInterface } from 'node:readline';
import type { BucketState } from '../../src/dataplane/layout.ts';
import type { AttachMode, Dataplane, GuardConfig, RelayLeg } from '../../src/dataplane/types.ts';
import { XdpDataplane } from '../../src/dataplane/xdp-dataplane.ts';
import { monotonicNs } from '../../src/dataplane/xdp-events.ts';
import { XdpGuard } from '../../src/dataplane/xdp-guard.ts';

interface ChildConfig {
  ifname: string;
  /** Further interfaces to attach to (a relay host has one per side). */
  moreIfnames?: string[];
  attachMode: AttachMode;
  guard: Partial<GuardConfig>;
  eventPollMs: number;
}

const config = JSON.parse(process.argv.at(-1) ?? '{}') as ChildConfig;

function send(line: object): void {
  process.stdout.write(
    `${JSON.stringify(line, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
  );
}

const guard = XdpGuard.load({ eventPollMs: config.eventPollMs });
let closed = false;
function shutdown(code: number): never {
  if (!closed) {
    closed = true;
    try {
      guard.close();
    } catch (err) {
      process.stderr.write(`close: ${(err as Error).message}\n`);
      code = 1;
    }
  }
  process.exit(code);
}

// Typed as the interface: the calls are the ones the daemon makes.
const dp: Dataplane = new XdpDataplane(guard);
let attached: string;
try {
  guard.configure(config.guard);
  attached = guard.attach(config.ifname, config.attachMode);
  for (const more of config.moreIfnames ?? []) guard.attach(more, config.attachMode);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  shutdown(1);
}
dp.onFlood((event) => send({ event: 'flood', ...event }));

type Handler = (...args: never[]) => unknown;
const methods: Record<string, Handler> = {
  ban: (ip: string, ttl: number, reason: string) => dp.ban(ip, ttl, reason),
  unban: (ipOrAll: string) => dp.unban(ipOrAll),
  allowCidr: (cidr: string) => dp.allowCidr(cidr),
  denyCidr: (cidr: string) => dp.denyCidr(cidr),
  removeCidr: (cidr: string) => dp.removeCidr(cidr),
  trust: (ip: string, ttl: number) => dp.trust(ip, ttl),
  untrust: (ip: string) => dp.untrust(ip),
  openRelay: (leg: RelayLeg) => dp.openRelay(leg),
  closeRelay: (port: number) => dp.closeRelay(port),
  relayCounters: (port: number) => dp.relayCounters(port),
  stats: () => dp.stats(),
  state: () => dp.state(),
  configure: (changes: Partial<GuardConfig>) => guard.configure(changes),
  counters: () =>
    Object.fromEntries(Object.entries(guard.counters()).map(([k, c]) => [k, Number(c.packets)])),
  bans: () => guard.bans(),
  bucket: (ip: string) => guard.bucket(ip),
  setBucket: (ip: string, s: { tatNs: string; lastEventNs: string; dropped: number }) => {
    const state: BucketState = {
      tatNs: BigInt(s.tatNs),
      lastEventNs: BigInt(s.lastEventNs),
      dropped: s.dropped,
    };
    guard.setBucket(ip, state);
  },
  pollEvents: () => guard.pollEvents(),
  monotonicNs: () => monotonicNs(),
};

createInterface({ input: process.stdin }).on('line', async (text) => {
  let id: unknown = null;
  try {
    const call = JSON.parse(text) as { id: number; method: string; args: unknown[] };
    id = call.id;
    const method = methods[call.method];
    if (method === undefined) throw new Error(`no method ${call.method}`);
    const result = await (method as (...a: unknown[]) => unknown)(...call.args);
    send({ id, ok: true, result: result ?? null });
  } catch (err) {
    const e = err as Error & { code?: string };
    send({ id, ok: false, error: { message: e.message, code: e.code } });
  }
});
process.stdin.on('end', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
send({ ready: true, mode: attached });
