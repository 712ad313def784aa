// Debian's SIPp is built without OpenSSL ("To use a TLS transport you must compile SIPp with
// OpenSSL"), so TLS tests put this relay in front: SIPp speaks TCP to it, and it carries
// every byte over a real TLS connection to tollgate's SIPS port, one TLS session per
// SIPp connection. tollgate sees exactly what a TLS phone sends.
import { createServer, type Socket } from 'node:net';
import { connect } from 'node:tls';
import type { ExecutionContext } from 'ava';

export async function tlsRelay(
  t: ExecutionContext,
  target: { ip: string; port: number },
): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((plain) => {
    const secure = connect({ host: target.ip, port: target.port, rejectUnauthorized: false });
    sockets.add(plain).add(secure);
    plain.pipe(secure).pipe(plain);
    const close = () => {
      plain.destroy();
      secure.destroy();
    };
    plain.on('error', close).on('close', close);
    secure.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as { port: number }).port;
}
