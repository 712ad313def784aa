// tollgate on a wildcard address: an address added to the machine while it runs is in the
// certificate within a minute, and a client verifying against ca.pem accepts it there.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { createStar, startTollgate } from '../helpers/softphones.ts';

const run = promisify(execFile);

/** openssl s_client from the phone's namespace, verifying the address against the CA. */
function verifies(ns: string, address: string, caPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'openssl',
        's_client',
        '-connect',
        `${address}:5061`,
        '-CAfile',
        caPath,
        '-verify_ip',
        address,
        '-verify_return_error',
        '-brief',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 },
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('close', () => resolve(out));
    child.stdin.end(); // s_client says goodbye once its input ends
  });
}

test('an address added while tollgate runs on 0.0.0.0 is in the certificate within a minute', async (t) => {
  t.timeout(150_000);
  const star = await createStar(t, 1);
  const tollgate = await startTollgate(t, star, {}, []);
  const phone = star.phones[0]!;
  const added = phone.hubIp.replace(/\.1$/, '.9');
  await run('ip', ['-n', star.hub, 'addr', 'add', `${added}/24`, 'dev', 'p1']);
  // The new address answers at once, but with the certificate that does not name it.
  const before = await verifies(phone.ns, added, tollgate.caPath);
  t.regex(before, /verify error|IP address mismatch|verification error/i);
  // Checked every minute: waited for on the daemon's own line, with a deadline.
  const line = await tollgate.waitForLine(
    (l) => l.msg === 'SIPS certificate issued again: the addresses it names changed',
    'the certificate issued again',
    0,
    120_000,
  );
  t.true((line.names as { ips: string[] }).ips.includes(added));
  const after = await verifies(phone.ns, added, tollgate.caPath);
  t.regex(after, /Verification: OK/);
  t.notRegex(after, /verify error/i);
});
