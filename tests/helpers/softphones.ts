// Real softphones against a real tollgate, each in its own network namespace:
//
//        phone 1 (ns -p1, 10.N.1.2) ──veth── hub (ns -hub: tollgate on 0.0.0.0, 10.N.1.1 / 10.N.2.1)
//        phone 2 (ns -p2, 10.N.2.2) ──veth──┘     ip_forward on, so media can flow phone to phone
//
// tollgate listens on the wildcard address, so its certificate must name both hub addresses
// (each phone registers to the one on its side). The phones are Debian's:
//   baresip 1.0 (baresip-core)    driven through its stdio menu (/dial, /accept, /hold, …),
//                                 SIP trace (-s) on stdout;
//   Linphone 5.1 (linphone-cli)   linphonec, driven through its console (call, answer, pause,
//                                 …), belle-sip's full log (-d 6) in a file.
// TLS: both are given tollgate's CA (DATA/tls/ca.pem). Linphone verifies the server
// certificate against it (verify_server_certs, verify_server_cn): a certificate that does not
// name the address fails the handshake. baresip 1.0 cannot verify a server at all (libre 1.x
// has no such option; a newer baresip has sip_verify_server): it is given the CA anyway.
//
//   const star = await createStar(t, 2);
//   const tollgate = await startTollgate(t, star, { useshadigestauh: 1 }, ['1001', '1002']);
//   const a = await startBaresip(t, { star, phone: 0, tollgate, user: '1001', transport: 'tls' });
//   const b = await startLinphonec(t, { star, phone: 1, tollgate, user: '1002', transport: 'udp' });
//   await a.registered(); await b.registered();
//
// Every wait is on a line the phone or tollgate writes, with a generous deadline; nothing
// sleeps. Namespaces are named tgt-<pid>-… like tests/helpers/netns.ts, so a crashed run's
// are swept by sweepStaleNamespaces(); processes and namespaces go in t.teardown.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import { type RunningDaemon, startDaemon } from './daemon.ts';
import { tempDir } from './tmp.ts';

const run = promisify(execFile);
const IP = '/usr/sbin/ip';
/** Deadline for anything a phone or tollgate should do within a second or two. */
export const PHONE_DEADLINE_MS = 30_000;
export const PASSWORD = 'Blue7Harbor9x';

export type Transport = 'udp' | 'tcp' | 'tls';

export interface StarPhone {
  ns: string;
  /** The phone's address. */
  ip: string;
  /** tollgate's address on the phone's side. */
  hubIp: string;
}

export interface Star {
  hub: string;
  phones: StarPhone[];
}

let stars = 0;

async function ip(args: string[]): Promise<void> {
  try {
    await run(IP, args, { timeout: 30_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** A hub namespace (for tollgate) and `count` phone namespaces, each on its own /24 to the hub. */
export async function createStar(t: ExecutionContext, count: number): Promise<Star> {
  const n = stars++;
  const base = `tgt-${process.pid}-s${n}`;
  const hub = `${base}-hub`;
  const octet2 = 192 + ((process.pid + n) % 56);
  const names = [hub];
  t.teardown(async () => {
    for (const ns of names) await run(IP, ['netns', 'delete', ns]).catch(() => {});
  });
  await ip(['netns', 'add', hub]);
  await ip(['-n', hub, 'link', 'set', 'lo', 'up']);
  await run(IP, ['netns', 'exec', hub, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  const phones: StarPhone[] = [];
  for (let i = 1; i <= count; i++) {
    const ns = `${base}-p${i}`;
    names.push(ns);
    const hubIp = `10.${octet2}.${i}.1`;
    const phoneIp = `10.${octet2}.${i}.2`;
    await ip(['netns', 'add', ns]);
    await ip([
      '-n',
      hub,
      'link',
      'add',
      `p${i}`,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      ns,
    ]);
    await ip(['-n', hub, 'addr', 'add', `${hubIp}/24`, 'dev', `p${i}`]);
    await ip(['-n', hub, 'link', 'set', `p${i}`, 'up']);
    await ip(['-n', ns, 'addr', 'add', `${phoneIp}/24`, 'dev', 'eth0']);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', ns, 'route', 'add', 'default', 'via', hubIp]);
    phones.push({ ns, ip: phoneIp, hubIp });
  }
  return { hub, phones };
}

export interface Tollgate {
  daemon: RunningDaemon;
  caPath: string;
  /** tollgate's log as parsed pino lines. */
  lines(): Array<Record<string, unknown>>;
  /** Waits for a log line (from line `from` on) for which `match` holds; returns it. */
  waitForLine(
    match: (line: Record<string, unknown>) => boolean,
    what: string,
    from?: number,
    deadlineMs?: number,
  ): Promise<Record<string, unknown>>;
}

/** tollgate in the hub, on 0.0.0.0 with the standard ports, debug log, with `users` added. */
export async function startTollgate(
  t: ExecutionContext,
  star: Star,
  config: Record<string, string | number>,
  users: readonly string[],
): Promise<Tollgate> {
  const dataDir = tempDir(t);
  const configFile = join(dataDir, 'tollgate.conf');
  const values = {
    sipaddress: '0.0.0.0',
    sipport: 5060,
    sipsport: 5061,
    dataplanemode: 'off',
    loglevel: 'debug',
    ...config,
  };
  writeFileSync(
    configFile,
    `${Object.entries(values)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')}\n`,
  );
  const daemon = await startDaemon(t, { dataDir, configFile, netns: star.hub });
  for (const user of users) {
    const added = await daemon.ctl('users', 'add', user, '--password', PASSWORD);
    if (added.code !== 0) throw new Error(`users add ${user}: ${added.stderr}`);
  }
  const lines = () =>
    daemon
      .log()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    daemon,
    caPath: join(dataDir, 'tls', 'ca.pem'),
    lines,
    waitForLine: (match, what, from = 0, deadlineMs = PHONE_DEADLINE_MS) =>
      until(
        () => lines().slice(from).find(match),
        `tollgate to log ${what}`,
        () => daemon.log().slice(-3000),
        deadlineMs,
      ),
  };
}

/** Polls `probe` on every event-loop turn of a 25 ms timer until it gives a value. */
async function until<T>(
  probe: () => T | undefined | null | false,
  what: string,
  context: () => string,
  deadlineMs = PHONE_DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waited for ${what}; last output:\n${context()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface PhoneOptions {
  star: Star;
  /** Index into star.phones. */
  phone: number;
  tollgate: Tollgate;
  user: string;
  transport: Transport;
  /** Accounts this phone may send a MESSAGE to (baresip reads them as contacts). */
  peers?: readonly string[];
}

/** One running softphone; `output` is what it printed, `mark()` a position in it. */
export abstract class Phone {
  readonly kind: 'baresip' | 'linphonec';
  readonly user: string;
  readonly transport: Transport;
  readonly ip: string;
  readonly hubIp: string;
  protected out = '';
  protected readonly child: ChildProcess;

  constructor(
    t: ExecutionContext,
    kind: 'baresip' | 'linphonec',
    o: PhoneOptions,
    argv: string[],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.kind = kind;
    this.user = o.user;
    this.transport = o.transport;
    const where = o.star.phones[o.phone]!;
    this.ip = where.ip;
    this.hubIp = where.hubIp;
    this.child = spawn(IP, ['netns', 'exec', where.ns, ...argv], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
    });
    this.child.stdout!.on('data', (c: Buffer) => (this.out += c.toString('utf8')));
    this.child.stderr!.on('data', (c: Buffer) => (this.out += c.toString('utf8')));
    this.child.stdin!.on('error', () => {});
    t.teardown(() => this.stop());
  }

  get output(): string {
    return this.out;
  }

  /** A position in the output: waitFor(…, mark) looks only at what came after it. */
  mark(): number {
    return this.out.length;
  }

  /** Waits until the output after `from` matches `pattern`. */
  waitFor(pattern: RegExp, what: string, from = 0): Promise<RegExpExecArray> {
    return until(
      () => pattern.exec(this.out.slice(from)),
      `${this.kind} ${this.user} (${this.transport}): ${what}`,
      () => this.out.slice(-4000),
    );
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** The SIP address of `other`, as this phone dials it (through tollgate, on its transport). */
  uriOf(other: Phone | string): string {
    const user = typeof other === 'string' ? other : other.user;
    return `sip:${user}@${this.hubIp};transport=${this.transport}`;
  }

  /** Every SIP message this phone sent or received, as its own trace shows them. */
  abstract trace(): string;
  /** The requests this phone sent, by its own trace: method and transport (upper case). */
  abstract sentRequests(): Array<{ method: string; transport: string; to: string }>;
  abstract registered(from?: number): Promise<void>;
  abstract dial(other: Phone): void;
  /** Waits for the incoming call, then answers it. */
  abstract answer(from: number): Promise<void>;
  /** Waits until the phone shows the call established (after `from`). */
  abstract established(from: number): Promise<void>;
  abstract hold(): void;
  abstract resume(): void;
  abstract hangup(): void;
  /** Waits until the phone shows the call ended (after `from`). */
  abstract ended(from: number): Promise<void>;
  abstract message(other: Phone, text: string): void;
  /** Waits until a MESSAGE with `text` arrived. */
  abstract received(text: string, from?: number): Promise<void>;

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

class Baresip extends Phone {
  override trace(): string {
    return this.out;
  }

  sentRequests() {
    // -s prints "TLS 10.0.1.2:5061 -> 10.0.1.1:5061" before each message, sent or received.
    const out: Array<{ method: string; transport: string; to: string }> = [];
    const re = /(UDP|TCP|TLS) ([\d.]+):\d+ -> (\S+)\r?\n([A-Z]+) \S+ SIP\/2\.0/g;
    for (const m of this.out.matchAll(re)) {
      if (m[2] === this.ip) out.push({ transport: m[1]!, to: m[3]!, method: m[4]! });
    }
    return out;
  }

  registered(from = 0): Promise<void> {
    const tag = this.transport.toUpperCase();
    return this.waitFor(new RegExp(`\\{0/${tag}/v4\\} 200 OK`), 'registered', from).then(() => {});
  }

  dial(other: Phone): void {
    // baresip 1.0 appends its account's transport to what is dialled: a dialled
    // ";transport=" would appear twice (and be refused as a malformed Request-URI).
    this.send(`/dial sip:${other.user}@${this.hubIp}`);
  }

  async answer(from: number): Promise<void> {
    await this.waitFor(/Incoming call from/, 'an incoming call', from);
    this.send('/accept');
  }

  async established(from: number): Promise<void> {
    await this.waitFor(/Call established/, 'the call established', from);
  }

  hold(): void {
    this.send('/hold');
  }

  resume(): void {
    this.send('/resume');
  }

  hangup(): void {
    this.send('/hangup');
  }

  async ended(from: number): Promise<void> {
    await this.waitFor(/terminated \(duration|session closed/, 'the call ended', from);
  }

  message(other: Phone, text: string): void {
    // /message goes to the current contact: the contacts file lists the peers, the one
    // wanted is found by /contact_next (contacts are kept in the order listed).
    const index = this.#peers.indexOf(other.user);
    if (index < 0) throw new Error(`${other.user} is not among baresip's peers`);
    for (let i = 0; i < index; i++) this.send('/contact_next');
    this.send(`/message ${text}`);
  }

  readonly #peers: readonly string[];

  constructor(t: ExecutionContext, o: PhoneOptions, argv: string[]) {
    super(t, 'baresip', o, argv);
    this.#peers = o.peers ?? [];
  }

  async received(text: string, from = 0): Promise<void> {
    await this.waitFor(new RegExp(`\\n${text}`), `MESSAGE "${text}"`, from);
  }

  /** baresip only: OPTIONS to `other` through tollgate; waits until the answer is shown. */
  async options(other: Phone, from = this.mark()): Promise<void> {
    this.send(`/options ${this.uriOf(other)}`);
    await this.waitFor(/----- OPTIONS of [^\n]* -----/, 'the OPTIONS answer', from);
  }
}

/** baresip 1.0 for `user`, registering over `transport` to tollgate on its side. */
export async function startBaresip(t: ExecutionContext, o: PhoneOptions): Promise<Baresip> {
  const dir = tempDir(t);
  const where = o.star.phones[o.phone]!;
  const port = o.transport === 'tls' ? 5061 : 5060;
  writeFileSync(
    join(dir, 'config'),
    [
      'module_path /usr/lib/baresip/modules',
      'poll_method epoll',
      `sip_listen ${where.ip}:5060`,
      `sip_cafile ${o.tollgate.caPath}`,
      // No sound card in a namespace: aubridge loops what is played back into the source.
      'audio_player aubridge,phone',
      'audio_source aubridge,phone',
      'audio_alert aubridge,phone',
      'statmode_default off',
      'module stdio.so',
      'module g711.so',
      'module aubridge.so',
      'module_tmp uuid.so',
      'module_tmp account.so',
      'module_app menu.so',
      'module_app contact.so',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'accounts'),
    // outbound: every request goes to tollgate on the account's transport. Without it
    // baresip 1.0 sends a /message to the contact's host and port over UDP, whatever the
    // contact's transport parameter says.
    `<sip:${o.user}@${where.hubIp}:${port};transport=${o.transport}>;auth_pass=${PASSWORD};outbound="sip:${where.hubIp}:${port};transport=${o.transport}";regint=600;answermode=manual;audio_codecs=PCMU,PCMA\n`,
  );
  // The contacts /message sends to: the peers, on this phone's transport.
  writeFileSync(
    join(dir, 'contacts'),
    (o.peers ?? [])
      .map((u) => `"${u}" <sip:${u}@${where.hubIp}:${port};transport=${o.transport}>\n`)
      .join(''),
  );
  const phone = new Baresip(t, o, ['baresip', '-s', '-f', dir]);
  await phone.waitFor(/baresip is ready/, 'started');
  return phone;
}

class Linphonec extends Phone {
  readonly #logFile: string;
  #callId = 0;

  constructor(t: ExecutionContext, o: PhoneOptions, dir: string) {
    super(
      t,
      'linphonec',
      o,
      ['linphonec', '-c', join(dir, 'linphonerc'), '-d', '6', '-l', join(dir, 'linphone.log')],
      { ...process.env, HOME: dir },
    );
    this.#logFile = join(dir, 'linphone.log');
  }

  trace(): string {
    try {
      return readFileSync(this.#logFile, 'utf8');
    } catch {
      return '';
    }
  }

  sentRequests() {
    // belle-sip: "channel [0x…]: message sent to [TLS://10.0.2.1:5061], size: [540] bytes"
    const out: Array<{ method: string; transport: string; to: string }> = [];
    const re = /message sent to \[(UDP|TCP|TLS):\/\/([^\]]+)\][^\n]*\n([A-Z]+) \S+ SIP\/2\.0/gi;
    for (const m of this.trace().matchAll(re)) {
      out.push({ transport: m[1]!.toUpperCase(), to: m[2]!, method: m[3]! });
    }
    return out;
  }

  async registered(from = 0): Promise<void> {
    // linphonec prints nothing on registration: `status register` asks, twice a second.
    const deadline = Date.now() + PHONE_DEADLINE_MS;
    for (;;) {
      const mark = this.mark();
      this.send('status register');
      try {
        await until(
          () => /registered(=-?\d+|, identity=[^\n]*)\n/.exec(this.out.slice(Math.max(mark, from))),
          'an answer to status register',
          () => this.out.slice(-2000),
        );
      } catch {
        // no answer at all: retried below until the deadline
      }
      if (/registered, identity=/.test(this.out.slice(Math.max(mark, from)))) return;
      if (Date.now() > deadline)
        throw new Error(
          `linphonec ${this.user} (${this.transport}) never registered:\n${this.out.slice(-3000)}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  dial(other: Phone): void {
    this.send(`call ${this.uriOf(other)}`);
  }

  async answer(from: number): Promise<void> {
    const m = await this.waitFor(
      /incoming call from [^,]*, assigned id (\d+)/,
      'an incoming call',
      from,
    );
    this.#callId = Number(m[1]);
    this.send('answer');
  }

  async established(from: number): Promise<void> {
    const m = await this.waitFor(/Call (\d+) with [^\n]* connected\./, 'the call connected', from);
    this.#callId = Number(m[1]);
  }

  hold(): void {
    this.send('pause');
  }

  resume(): void {
    this.send(`resume ${this.#callId}`);
  }

  hangup(): void {
    this.send('terminate');
  }

  async ended(from: number): Promise<void> {
    await this.waitFor(/Call \d+ with [^\n]* ended/, 'the call ended', from);
  }

  message(other: Phone, text: string): void {
    this.send(`chat ${this.uriOf(other)} ${text}`);
  }

  async received(text: string, from = 0): Promise<void> {
    await until(
      () => this.trace().slice(from).includes(text),
      `linphonec ${this.user}: MESSAGE "${text}"`,
      () => this.out.slice(-2000),
    );
  }
}

/** Linphone 5.1's linphonec for `user`, registering over `transport`, verifying TLS. */
export async function startLinphonec(t: ExecutionContext, o: PhoneOptions): Promise<Linphonec> {
  const dir = tempDir(t);
  // liblinphone does not finish starting (no transports, no REGISTER) without its database
  // directory: it stays in GlobalStartup.
  mkdirSync(join(dir, '.local', 'share', 'linphone'), { recursive: true });
  const where = o.star.phones[o.phone]!;
  const port = o.transport === 'tls' ? 5061 : 5060;
  writeFileSync(
    join(dir, 'linphonerc'),
    [
      '[sip]',
      'sip_port=5060',
      'sip_tcp_port=5060',
      'sip_tls_port=5061',
      'default_proxy=0',
      `root_ca=${o.tollgate.caPath}`,
      'verify_server_certs=1',
      'verify_server_cn=1',
      '[sound]',
      'echocancellation=0',
      '[rtp]',
      'audio_rtp_port=7078',
      '[proxy_0]',
      `reg_proxy=<sip:${where.hubIp}:${port};transport=${o.transport}>`,
      `reg_identity=sip:${o.user}@${where.hubIp}`,
      'reg_expires=600',
      'reg_sendregister=1',
      'publish=0',
      '[auth_info_0]',
      `username=${o.user}`,
      `passwd=${PASSWORD}`,
      'realm=tollgate',
      '',
    ].join('\n'),
  );
  const phone = new Linphonec(t, o, dir);
  await phone.waitFor(/linphonec> /, 'started');
  return phone;
}
