// tls-relay.ts inside a network namespace (a Node process cannot enter one itself): SIPp,
// built without TLS, speaks TCP to this relay, which carries every byte over a real TLS
// connection to tollgate, one TLS session per TCP connection.
//
//   const relay = await tlsRelayIn(t, ns, { listen: '10.1.2.2', target: { ip, port } });
//   relay.port                                     // where SIPp connects
//
// or directly: ip netns exec NS node tests/helpers/tls-relay-child.ts '<json>'. The child
// prints {"port":N} once listening and exits when its stdin closes.
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { connect } from 'node:tls';

interface RelayOptions {
  listen: string;
  target: { ip: string; port: number };
}

export async function tlsRelayIn(
  t: { teardown(fn: () => unknown): void },
  ns: string,
  o: RelayOptions,
): Promise<{ port: number }> {
  const child = spawn(
    '/usr/sbin/ip',
    ['netns', 'exec', ns, process.execPath, import.meta.filename, JSON.stringify(o)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    child.stdin.end();
    child.kill();
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => {
      out += c;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line) as { port: number });
    });
    child.on('exit', (code) => reject(new Error(`TLS relay exited with ${code}: ${err}`)));
  });
}

function serve(o: RelayOptions): void {
  const sockets = new Set<Socket>();
  const server = createServer((plain) => {
    const secure = connect({ host: o.target.ip, port: o.target.port, rejectUnauthorized: false });
    sockets.add(plain).add(secure);
    plain.pipe(secure).pipe(plain);
    const close = () => {
      plain.destroy();
      secure.destroy();
    };
    plain.on('error', close).on('close', close);
    secure.on('error', close).on('close', close);
  });
  server.listen(0, o.listen, () => {
    process.stdout.write(
      `${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`,
    );
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

if (process.argv[1] === import.meta.filename && process.argv[2]) {
  serve(JSON.parse(process.argv[2]) as RelayOptions);
}
