// Attaching the guard to real interfaces: native XDP where the driver has it (veth), generic
// as a logged fallback (a bridge has no native XDP), the program of a crashed predecessor
// (same data directory) taken over rather than duplicated, and anyone else's XDP program
// left alone, another tollgate's included.
// The interfaces are created here with unique names, carry no addresses and no traffic,
// and are deleted even when a test fails.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { PROG_NAME } from '../../src/dataplane/layout.ts';
import { XdpGuard } from '../../src/dataplane/xdp-guard.ts';
import { XdpRecord } from '../../src/dataplane/xdp-record.ts';
import { buildBpfObject } from './helpers.ts';

const IP = '/usr/sbin/ip';
let seq = 0;

test.before(() => {
  buildBpfObject();
});

function ip(...args: string[]): string {
  return execFileSync(IP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A fresh interface (veth pair or bridge), deleted at teardown. Returns its name. */
function makeInterface(t: ExecutionContext, kind: 'veth' | 'bridge'): string {
  const name = `tgx${process.pid % 10000}${kind[0]}${seq++}`;
  if (kind === 'veth') ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`);
  else ip('link', 'add', name, 'type', 'bridge');
  t.teardown(() => {
    try {
      ip('link', 'del', name);
    } catch {
      // already gone
    }
  });
  ip('link', 'set', name, 'up');
  return name;
}

/** XDP programs attached to ifname, as iproute2 reports them. */
function xdpOn(ifname: string): { mode: string; name: string }[] {
  const [link] = JSON.parse(ip('-d', '-j', 'link', 'show', 'dev', ifname)) as {
    xdp?: {
      mode: number;
      prog?: { name: string };
      attached?: { mode: number; prog: { name: string } }[];
    };
  }[];
  const xdp = link?.xdp;
  if (!xdp) return [];
  const modeName = (m: number) => ({ 1: 'native', 2: 'generic', 3: 'offload' })[m] ?? String(m);
  if (xdp.attached) return xdp.attached.map((a) => ({ mode: modeName(a.mode), name: a.prog.name }));
  return xdp.prog ? [{ mode: modeName(xdp.mode), name: xdp.prog.name }] : [];
}

function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  return {
    lines,
    info: (obj: Record<string, unknown>, msg: string) => lines.push({ level: 'info', obj, msg }),
    warn: (obj: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', obj, msg }),
  };
}

test('native XDP on a veth, detached on close', (t) => {
  const ifname = makeInterface(t, 'veth');
  const guard = XdpGuard.load();
  t.teardown(() => guard.close());
  t.is(guard.attach(ifname), 'xdp');
  t.deepEqual(xdpOn(ifname), [{ mode: 'native', name: PROG_NAME }]);
  t.deepEqual(guard.interfaces(), [{ ifname, mode: 'xdp' }]);
  guard.close();
  t.deepEqual(xdpOn(ifname), []);
});

test('no native XDP in the driver: generic, with the reason logged', (t) => {
  const ifname = makeInterface(t, 'bridge');
  const log = recordingLogger();
  const guard = XdpGuard.load({ logger: log as never });
  t.teardown(() => guard.close());
  t.is(guard.attach(ifname), 'xdp-generic');
  t.deepEqual(xdpOn(ifname), [{ mode: 'generic', name: PROG_NAME }]);
  const fallback = log.lines.find((l) => l.level === 'warn' && /falling back/.test(l.msg));
  t.truthy(fallback);
  t.regex(String(fallback?.obj.reason), /errno/);
  t.throws(() => guard.attach(ifname, 'native'), { code: 'TG_DP_ATTACH' });
  guard.detach(ifname);
  t.deepEqual(xdpOn(ifname), []);
});

test("a crashed predecessor's program (recorded in the data directory) is taken over, not duplicated", async (t) => {
  const ifname = makeInterface(t, 'veth');
  const dataDir = mkdtempSync(join(tmpdir(), 'tg-record-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  // "Crash": a guard of this data directory attaches and is killed (SIGKILL).
  t.is(await attachAndDie(dataDir, ifname, 'auto'), 'xdp');
  const staleId = progIdOn(ifname);
  t.deepEqual(xdpOn(ifname), [{ mode: 'native', name: PROG_NAME }], 'the stale program stays');
  t.is(progIdOn(ifname), staleId);

  const log = recordingLogger();
  const guard = XdpGuard.load({ logger: log as never, record: XdpRecord.open(dataDir) });
  t.teardown(() => guard.close());
  t.is(guard.attach(ifname), 'xdp');
  t.deepEqual(xdpOn(ifname), [{ mode: 'native', name: PROG_NAME }]);
  t.is(progIdOn(ifname), guard.attachments.programId);
  t.truthy(log.lines.find((l) => /took over the XDP program of a previous tollgate/.test(l.msg)));

  // A stale one in generic mode is cleared too when the new one goes native.
  guard.detach(ifname);
  t.is(await attachAndDie(dataDir, ifname, 'generic'), 'xdp-generic');
  t.deepEqual(xdpOn(ifname), [{ mode: 'generic', name: PROG_NAME }]);
  const guard2 = XdpGuard.load({ record: XdpRecord.open(dataDir) });
  t.teardown(() => guard2.close());
  t.is(guard2.attach(ifname), 'xdp');
  t.deepEqual(xdpOn(ifname), [{ mode: 'native', name: PROG_NAME }]);
});

test('a tollgate program another data directory attached is not ours to take over', async (t) => {
  const ifname = makeInterface(t, 'veth');
  const mine = mkdtempSync(join(tmpdir(), 'tg-record-'));
  const theirs = mkdtempSync(join(tmpdir(), 'tg-record-'));
  t.teardown(() => {
    rmSync(mine, { recursive: true, force: true });
    rmSync(theirs, { recursive: true, force: true });
  });
  t.is(await attachAndDie(theirs, ifname, 'auto'), 'xdp');
  const otherId = progIdOn(ifname);
  const guard = XdpGuard.load({ record: XdpRecord.open(mine) });
  t.teardown(() => guard.close());
  const err = t.throws(() => guard.attach(ifname), { code: 'TG_DP_FOREIGN_PROGRAM' });
  t.regex(err?.message ?? '', new RegExp(`id ${otherId}\\), not attached by this tollgate`));
  t.is(progIdOn(ifname), otherId, 'left alone');
  ip('link', 'set', 'dev', ifname, 'xdp', 'off');
});

/**
 * A guard of dataDir, in a child process, attaches to ifname and is killed (SIGKILL): its
 * program stays attached, and only the record says whose it was. Returns the mode.
 */
async function attachAndDie(dataDir: string, ifname: string, mode: string): Promise<string> {
  const script = `
    import { XdpGuard } from ${JSON.stringify(new URL('../../src/dataplane/xdp-guard.ts', import.meta.url).href)};
    import { XdpRecord } from ${JSON.stringify(new URL('../../src/dataplane/xdp-record.ts', import.meta.url).href)};
    const guard = XdpGuard.load({ record: XdpRecord.open(${JSON.stringify(dataDir)}) });
    process.stdout.write(guard.attach(${JSON.stringify(ifname)}, ${JSON.stringify(mode)}) + '\\n');
    setInterval(() => {}, 60_000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const attached = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: string) => {
      out += c;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before attaching`)));
  });
  const gone = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await gone;
  return attached;
}

function progIdOn(ifname: string): number {
  const [link] = JSON.parse(ip('-d', '-j', 'link', 'show', 'dev', ifname)) as {
    xdp?: { prog?: { id: number } };
  }[];
  return link?.xdp?.prog?.id ?? 0;
}

test("another product's XDP program is left alone and the attach fails", (t) => {
  const ifname = makeInterface(t, 'bridge');
  const dir = mkdtempSync(join(tmpdir(), 'tg-foreign-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'other.c'),
    '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n' +
      'SEC("xdp") int other_filter(struct xdp_md *ctx) { return XDP_PASS; }\n' +
      'char LICENSE[] SEC("license") = "GPL";\n',
  );
  execFileSync('clang', [
    '-O2',
    '-g',
    '-target',
    'bpf',
    `-I/usr/include/${execFileSync('clang', ['-print-multiarch'], { encoding: 'utf8' }).trim()}`,
    '-c',
    join(dir, 'other.c'),
    '-o',
    join(dir, 'other.o'),
  ]);
  ip('link', 'set', 'dev', ifname, 'xdpgeneric', 'obj', join(dir, 'other.o'), 'sec', 'xdp');
  const guard = XdpGuard.load();
  t.teardown(() => guard.close());
  const err = t.throws(() => guard.attach(ifname), { code: 'TG_DP_FOREIGN_PROGRAM' });
  t.regex(err?.message ?? '', /other_filter/);
  t.deepEqual(xdpOn(ifname), [{ mode: 'generic', name: 'other_filter' }]);
});
