// A real ACME server for tests: Let's Encrypt's pebble on loopback, one per test, with its
// own config on allocated ports. It validates challenges by connecting to 127.0.0.1 at
// httpPort (HTTP-01) and tlsPort (TLS-ALPN-01): the caller's challenge listeners.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:https';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { allocatePort } from './ports.ts';
import { tempDir } from './tmp.ts';

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** The certificate of pebble's own HTTPS (trust it to talk ACME). */
  trust: Buffer;
  /** The root the issued certificates chain to (from the management endpoint). */
  root(): Promise<Buffer>;
}

export async function startPebble(
  t: ExecutionContext,
  challenge: { httpPort: number; tlsPort: number },
): Promise<Pebble> {
  const dir = tempDir(t, 'tollgate-pebble-');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=pebble',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const [acmePort, mgmtPort] = [await allocatePort(), await allocatePort()];
  const configPath = join(dir, 'pebble.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: certPath,
        privateKey: keyPath,
        httpPort: challenge.httpPort,
        tlsPort: challenge.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child = spawn('pebble', ['-config', configPath], {
    env: {
      ...process.env,
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
      PEBBLE_AUTHZREUSE: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    child.kill('SIGTERM');
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const deadline = setTimeout(() => reject(new Error(`pebble did not start: ${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ACME directory available')) {
        clearTimeout(deadline);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(deadline);
      reject(new Error(`pebble exited ${code}: ${out}`));
    });
  });
  const trust = readFileSync(certPath);
  return {
    directory: `https://127.0.0.1:${acmePort}/dir`,
    trust,
    root: () =>
      new Promise((resolve, reject) => {
        get(
          `https://127.0.0.1:${mgmtPort}/roots/0`,
          { agent: new Agent({ ca: trust }), timeout: 10_000 },
          (res) => {
            const parts: Buffer[] = [];
            res.on('data', (c: Buffer) => parts.push(c));
            res.on('end', () => resolve(Buffer.concat(parts)));
          },
        ).on('error', reject);
      }),
  };
}
