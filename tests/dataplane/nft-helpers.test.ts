// The namespace helpers other kernel tests stand on: namespaces really exist while a test
// runs, are gone afterwards, and are removed even when the process dies without teardown.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { createLink, exec, sweepStaleNamespaces } from '../helpers/netns.ts';
import { sendUdp, udpListener } from '../helpers/packets.ts';

const run = promisify(execFile);
const HELPER = new URL('../helpers/netns.ts', import.meta.url).pathname;
const nsExists = (ns: string) => existsSync(`/run/netns/${ns}`);

test('createLink builds two namespaces joined by veth, v4 and v6, and cleanup removes them', async (t) => {
  const link = await createLink(t);
  t.true(nsExists(link.a.ns) && nsExists(link.b.ns));
  t.regex(link.a.ns, /^tgt-\d+-\d+-a$/);
  const { stdout } = await exec(link.b.ns, ['/usr/sbin/ip', '-o', 'addr', 'show', 'dev', 'veth0']);
  t.true(stdout.includes(`${link.b.v4}/24`) && stdout.includes(`${link.b.v6}/64`));
  for (const to of [link.b.v4, link.b.v6]) {
    const listener = await udpListener(link.b.ns, { host: to, port: 9999 });
    await sendUdp(link.a.ns, { to, port: 9999, payload: 'hello' });
    const got = await listener.waitFor((d) => d.text.startsWith('hello'));
    t.is(got.from, to.includes(':') ? link.a.v6 : link.a.v4);
    await listener.close();
  }
  await link.cleanup();
  t.false(nsExists(link.a.ns) || nsExists(link.b.ns));
});

test('two links get different addresses and names', async (t) => {
  const [one, two] = await Promise.all([createLink(t), createLink(t)]);
  t.not(one.a.ns, two.a.ns);
  t.not(one.subnetV4, two.subnetV4);
  t.not(one.subnetV6, two.subnetV6);
});

async function script(body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tgt-helper-'));
  const file = join(dir, 'run.ts');
  await writeFile(file, `import { createLink } from '${HELPER}';\n${body}\n`);
  return file;
}

test('a process that exits without teardown still removes its namespaces', async (t) => {
  const file = await script(
    "const link = await createLink(); console.log(link.a.ns + ' ' + link.b.ns); process.exit(1);",
  );
  const err = await t.throwsAsync<Error & { stdout: string }>(run(process.execPath, [file]));
  const names = err.stdout.trim().split(' ');
  t.is(names.length, 2);
  t.false(names.some(nsExists));
});

test('sweepStaleNamespaces removes namespaces of dead processes only', async (t) => {
  // A pid above pid_max can never be alive: the namespace stands for a crashed run.
  const deadPid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
  // Unique per process: test files running in parallel sweep (and create) at the same time.
  const stale = `tgt-${deadPid}-${process.pid}-a`;
  await run('/usr/sbin/ip', ['netns', 'add', stale]);
  t.teardown(() => run('/usr/sbin/ip', ['netns', 'delete', stale]).catch(() => {}));
  const live = await createLink(t);
  const swept = await sweepStaleNamespaces();
  t.true(
    swept.every((name) => /^tgt-\d+-/.test(name)),
    'only tgt-<pid>- names are swept',
  );
  t.false(nsExists(stale), 'the dead process’s namespace is gone');
  t.true(nsExists(live.a.ns), 'a running test keeps its namespaces');
});
