// The XDP program verifies, runs and attaches on Linux 6.1, the kernel of the appliance ISO
// (Debian 12's linux-image-amd64), not only on this machine's newer kernel. The 6.1 verifier
// once refused it (a byte-swapped length used in packet-pointer arithmetic: see be16_len in
// bpf/tollgate.bpf.c) and the appliance silently fell back to dataplane mode nft.
//
// The VM: the ISO's own vmlinuz (fetched by scripts/bootstrap.sh --test into a cache outside
// the checkout, never installed) booted in qemu (TCG) with a small initramfs
// (kernel61/initramfs.sh): busybox, iproute2's ip, the kernel package's veth.ko and
// tg-verify, a static C loader. One boot per run; the verdict is read from the serial console.
//
// Why tg-verify stands for the daemon: src/dataplane/libbpf.ts loads the object with
// bpf_object__open_file(path, NULL), bpf_map__set_max_entries and bpf_object__load: no
// pinning, no CO-RE relocations, nothing probed beyond what libbpf probes itself. tg-verify
// makes the same calls with the same libbpf (libbpf-dev's libbpf.a is the libbpf1 the daemon
// loads through koffi), so the kernel receives the same BPF_MAP_CREATE and BPF_PROG_LOAD
// (type XDP, no attach type); it asks only for the verifier's statistics (log level 4),
// which changes nothing in what is verified. It runs with the capabilities of
// systemd/tollgate.service and no others (--unit-caps), since they decide what the verifier
// allows. It then makes the daemon's later calls: map updates (one by one and batched, the
// LPM trie and its hint), BPF_PROG_TEST_RUN (a ban, a batched ban and a deny CIDR drop; a
// signaling budget drops the second packet and sends one flood event through the ring
// buffer), bpf_xdp_attach in native mode on a veth and generic mode on lo, and
// bpf_xdp_query_id + bpf_obj_get_info_by_fd, what `tollgate status` reads.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import test, { type ExecutionContext } from 'ava';
import { createLink, exec } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = join(import.meta.dirname, '../..');
const HERE = join(import.meta.dirname, 'kernel61');
const OBJECT = join(ROOT, 'bpf/tollgate.bpf.o');
/** scripts/bootstrap.sh TEST_KERNEL_CACHE. */
const CACHE = '/var/cache/tollgate-tests/linux-6.1';
/** Boot to poweroff: about 13 s here; TCG on a busy 2-core machine can take many times that. */
const VM_DEADLINE_MS = 240_000;

function buildLoader(t: ExecutionContext): string {
  const out = join(tempDir(t, 'tollgate-kernel61-'), 'tg-verify');
  const cc = spawnSync(
    'clang',
    [
      '-O2',
      '-Wall',
      '-Werror',
      '-static',
      '-o',
      out,
      join(HERE, 'tg-verify.c'),
      '-lbpf',
      '-lelf',
      '-lz',
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (cc.status !== 0) throw new Error(`building tg-verify: ${cc.stderr}`);
  return out;
}

/** tg-verify's step lines ("TG-VERIFY ok load ...") from console output. */
function steps(output: string): string[] {
  return output
    .split('\n')
    .map((l) => /TG-\S+ .*/.exec(l.replace(/\r/g, ''))?.[0])
    .filter((l): l is string => l !== undefined);
}

function verifierLog(output: string): string {
  const m = /TG-VERIFY LOG BEGIN[\s\S]*?TG-VERIFY LOG END/.exec(output);
  return m ? m[0] : '';
}

test('the loader passes on this machine’s kernel: same steps as in the VM, veth native', async (t) => {
  const loader = buildLoader(t);
  const link = await createLink(t);
  const { stdout } = await exec(
    link.a.ns,
    [loader, '--unit-caps', OBJECT, 'lo', 'generic', link.a.ifname, 'native'],
    { timeoutMs: 120_000 },
  );
  const lines = steps(stdout);
  t.false(
    lines.some((l) => l.startsWith('TG-VERIFY FAILED')),
    stdout,
  );
  t.true(lines.includes('TG-VERIFY PASS'), stdout);
  t.true(
    lines.some((l) => l.startsWith(`TG-VERIFY ok attach ${link.a.ifname} native`)),
    stdout,
  );
});

test('the loader names the step that failed: an object that is not there', (t) => {
  const loader = buildLoader(t);
  const run = spawnSync(loader, ['/nonexistent/tollgate.bpf.o'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(run.status, 1, run.stdout + run.stderr);
  const lines = steps(run.stdout);
  t.true(
    lines.some((l) => l.startsWith('TG-VERIFY FAILED open /nonexistent/tollgate.bpf.o')),
    run.stdout,
  );
  t.is(lines.at(-1), 'TG-VERIFY FAIL');
});

test('Linux 6.1, the ISO kernel, verifies the XDP program, runs it and attaches it natively', async (t) => {
  t.timeout(VM_DEADLINE_MS + 60_000);
  for (const f of ['vmlinuz', 'veth.ko', 'busybox', 'package'])
    if (!existsSync(join(CACHE, f)))
      return t.fail(
        `${join(CACHE, f)} is missing: the Linux 6.1 image is fetched by the test set-up. Run as root: bash scripts/bootstrap.sh --test`,
      );
  const dir = tempDir(t, 'tollgate-kernel61-');
  const loader = buildLoader(t);
  const initrd = join(dir, 'initrd.gz');
  const mk = spawnSync('bash', [join(HERE, 'initramfs.sh'), CACHE, loader, OBJECT, initrd], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.is(mk.status, 0, `initramfs.sh: ${mk.stderr}`);

  // -no-reboot + panic=-1: a kernel panic (say init failed) ends qemu too.
  const qemu = spawn(
    'nice',
    [
      '-n',
      '10',
      'qemu-system-x86_64',
      '-accel',
      'tcg',
      '-m',
      '1G',
      '-smp',
      '1',
      '-display',
      'none',
      '-monitor',
      'none',
      '-serial',
      'stdio',
      '-no-reboot',
      '-kernel',
      join(CACHE, 'vmlinuz'),
      '-initrd',
      initrd,
      '-append',
      'console=ttyS0 panic=-1 quiet',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
  });
  let output = '';
  let stderr = '';
  qemu.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // Resolves on the init's last line, or when qemu ends; the deadline is only a safety net.
  const finished = await new Promise<'done' | 'exited' | 'deadline'>((resolve) => {
    const deadline = setTimeout(() => resolve('deadline'), VM_DEADLINE_MS);
    createInterface({ input: qemu.stdout }).on('line', (line) => {
      output += `${line}\n`;
      if (/TG-VM done/.test(line)) {
        clearTimeout(deadline);
        resolve('done');
      }
    });
    qemu.on('close', () => {
      clearTimeout(deadline);
      resolve('exited');
    });
  });
  const lines = steps(output);
  const tail = `${output.split('\n').slice(-60).join('\n')}\n${stderr}`;
  t.is(finished, 'done', `the VM did not finish (${finished}):\n${tail}`);
  t.log(lines.find((l) => l.startsWith('TG-VM kernel')) ?? 'no kernel line');
  t.regex(output, /TG-VM kernel 6\.1\.\d+-/, tail);
  const load = lines.find((l) => l.startsWith('TG-VERIFY ok load'));
  t.truthy(load, `the 6.1 verifier refused the program:\n${verifierLog(output) || tail}`);
  if (load) t.log(load); // the verifier's statistics: instructions processed, stack depth
  t.deepEqual(
    lines.filter((l) => l.startsWith('TG-VERIFY FAILED')),
    [],
    verifierLog(output) || tail,
  );
  for (const s of [
    'caps',
    'run-banned',
    'run-signaling',
    'run-flood',
    'run-batch-banned',
    'run-cidr-deny',
    'flood-event',
    'attach tg0 native',
    'query tg0',
    'detach tg0',
  ])
    t.true(
      lines.some((l) => l.startsWith(`TG-VERIFY ok ${s}`)),
      `step ${s}:\n${tail}`,
    );
  t.true(lines.includes('TG-VERIFY PASS'), tail);
});
