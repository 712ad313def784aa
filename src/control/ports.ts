// Refuse to start when a listen port is taken, with a message naming the port and the key
// that sets it. The SIP transports bind their own ports (and report a taken one the same
// way); this checks the rest before anything else starts: the web UI's port.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Settings } from '../config/settings.ts';
import { ControlErrors } from './errors.ts';

interface Listen {
  proto: 'udp' | 'tcp';
  address: string;
  port: number;
  key: string;
}

export function listenPorts(settings: Settings): Listen[] {
  const web = settings.get<string>('webaddress');
  return [{ proto: 'tcp', address: web, port: settings.get<number>('webport'), key: 'webport' }];
}

export async function checkPortsFree(settings: Settings): Promise<void> {
  for (const l of listenPorts(settings)) {
    const free = await (l.proto === 'udp' ? udpFree(l) : tcpFree(l));
    if (!free)
      throw new ControlErrors.TG_DAEMON_PORT_TAKEN(l.proto.toUpperCase(), l.port, l.address, l.key);
  }
}

function tcpFree(l: Listen): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port: l.port, host: l.address, exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

function udpFree(l: Listen): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(l.address.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port: l.port, address: l.address, exclusive: true }, () =>
      socket.close(() => resolve(true)),
    );
  });
}
